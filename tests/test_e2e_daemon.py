"""The real thing, across processes: Dagster daemon + webserver, the API server with its Chroma server.

One drop of two exports into the inbox, with no manual run: WebSocket subscribers connected before it are
pushed the new records their scopes allow (a LOW subscriber never hears of the HIGH one), the same API
process finds them over REST (and the HIGH one only for a token that may read it), the automation's
per-tier runs make the HIGH embedding searchable and announce the LOW view's new insights, and dropping
the same export again adds nothing. That a LOW subscriber is told nothing when only its view's unchanged
insights are rebuilt is tested in-process (test_insight_signature.py): here it would cost a second drop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.privacy_scan import scan
from tests.servers import BIN, free_port, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWIN_") or k == "TWIN_TEST_DATABASE_URL"}
    env.pop("TWIN_TEST_DATABASE_URL", None)
    env.update(
        TWIN_HOME=str(tmp_path / "home"),
        DAGSTER_HOME=str(tmp_path / "home" / "dagster"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    subprocess.run([BIN / "twin", "init"], env=env, check=True, capture_output=True, timeout=120)
    token = subprocess.run(
        [BIN / "twin", "tokens", "create", "--scopes", "low,medium,high"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()
    api_port, ui_port = free_port(), free_port()
    procs = []
    logs = tmp_path / "logs"
    logs.mkdir()
    with open(logs / "api.out", "wb") as api_log, open(logs / "dagster.out", "wb") as dagster_log:
        yield from _run_stack(env, token, api_port, ui_port, procs, api_log, dagster_log, tmp_path, logs)


def _run_stack(env, token, api_port, ui_port, procs, api_log, dagster_log, tmp_path, logs):
    try:
        procs.append(
            subprocess.Popen(
                [BIN / "twin", "serve", "--port", str(api_port)],
                env=env,
                stdout=api_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        api = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{api}/v1/health").status_code == 200, 90, "API")
        procs.append(
            subprocess.Popen(
                [BIN / "dagster", "dev", "-m", "twin_assets.definitions", "-h", "127.0.0.1", "-p", str(ui_port)],
                env=env,
                stdout=dagster_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{ui_port}/server_info").status_code == 200, 180, "Dagster UI")
        yield {
            "env": env,
            "api": api,
            "token": token,
            "home": tmp_path / "home",
            "logs": logs,
            "ui": f"http://127.0.0.1:{ui_port}",
            "api_pid": procs[0].pid,
            "api_proc": procs[0],
        }
    finally:
        for p in reversed(procs):
            with_group = os.getpgid(p.pid) if p.poll() is None else None
            if with_group:
                os.killpg(with_group, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(p.pid), signal.SIGKILL)


def _record_count(stack) -> int:
    import sqlite3

    db = stack["home"] / "stores" / "metadata.sqlite"
    with sqlite3.connect(db) as c:
        return c.execute("select count(*) from records").fetchone()[0]


def _private_mbox(marker: str) -> str:
    """One private message (HIGH by default, and it carries a card number): it must never reach LOW."""
    return f"""From friend@example.net Tue Mar 12 10:00:00 2024
From: Ottilie Cardholder <ottilie@example.net>
To: me@example.com
Subject: the card for the booking {marker}
Date: Tue, 12 Mar 2024 10:00:00 +0100
Message-ID: <card-{marker}@example.net>
Content-Type: text/plain; charset=utf-8

Use my card 4111 1111 1111 1111, expiry 04/29, for the {marker} booking.
"""


def _list_mbox(marker: str) -> str:
    """Two mailing-list messages (LOW, forced); the pair gives the LOW view next-contact insights."""
    return f"""From news@lists.heronclub.example Mon Apr 01 09:00:00 2024
From: Egretta Shoreham <egretta@heronclub.example>
To: Heron Club <herons@lists.heronclub.example>
Cc: Ardea Marshwood <ardea@heronclub.example>
Subject: Heron count {marker} with Egretta Shoreham
Date: Mon, 01 Apr 2024 09:00:00 +0000
Message-ID: <heron-1-{marker}@lists.heronclub.example>
List-Id: Heron Club <herons.lists.heronclub.example>
Precedence: list
Content-Type: text/plain; charset=utf-8

Join Egretta Shoreham and Ardea Marshwood for the {marker} heron count at the lake.

From news@lists.heronclub.example Mon Apr 08 09:00:00 2024
From: Ardea Marshwood <ardea@heronclub.example>
To: Heron Club <herons@lists.heronclub.example>
Cc: Egretta Shoreham <egretta@heronclub.example>
Subject: Heron count results by Ardea Marshwood
Date: Mon, 08 Apr 2024 09:00:00 +0000
Message-ID: <heron-2-{marker}@lists.heronclub.example>
List-Id: Heron Club <herons.lists.heronclub.example>
Precedence: list
Content-Type: text/plain; charset=utf-8

Ardea Marshwood counted fourteen herons; Egretta Shoreham brought the scope.
"""


class Subscriber:
    """A WebSocket client subscribed to /v1/ws; a thread collects every message it is sent."""

    def __init__(self, api: str, token: str) -> None:
        from websockets.sync.client import connect

        # Client pings off: the server pings, and the client thread answers them while we wait on REST.
        self.ws = connect(api.replace("http://", "ws://", 1) + "/v1/ws", open_timeout=60, ping_interval=None)
        self.ws.send(json.dumps({"type": "auth", "token": token}))
        self.scopes = json.loads(self.ws.recv(timeout=60))["scopes"]
        self.ws.send(json.dumps({"type": "subscribe"}))
        assert json.loads(self.ws.recv(timeout=60))["type"] == "subscribed"
        self.messages: list[dict] = []
        self.closed: str | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in self.ws:
                self.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass
        self.closed = f"closed with code {self.ws.close_code}"

    def records(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "record"]

    def kinds(self) -> list[str]:
        return [m["type"] for m in self.messages]

    def still_open(self) -> bool:
        """A ping answered on this very connection: the server process that accepted it still serves it."""
        pongs = self.kinds().count("pong")
        self.ws.send(json.dumps({"type": "ping"}))
        return bool(wait_for(lambda: self.kinds().count("pong") > pongs, 30, "pong"))

    def summary(self) -> str:
        """Types, tiers and ids only: messages never carry content."""
        return f"{self.scopes}: {[(m['type'], m.get('tier'), m.get('id')) for m in self.messages]} {self.closed or ''}"

    def close(self) -> None:
        self.ws.close()
        self.thread.join(10)


def _drop(inbox, files: dict[str, str]) -> None:
    """Write beside the inbox's scan (dot files are skipped), then move all in at once, already settled,
    so one sensor tick registers them together: one run, one cascade of per-tier rebuilds."""
    past = time.time() - 60
    for name, text in files.items():
        tmp = inbox / f".{name}.part"
        tmp.write_text(text)
        os.utime(tmp, (past, past))
    for name in files:
        (inbox / f".{name}.part").rename(inbox / name)


def _token(stack, scopes: str) -> str:
    return subprocess.run(
        [BIN / "twin", "tokens", "create", "--scopes", scopes],
        env=stack["env"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()


def _rest(stack, path: str, token: str, **params) -> dict:
    r = httpx.get(f"{stack['api']}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    r.raise_for_status()
    return r.json()


def _graphql(stack, query: str, **variables) -> dict:
    r = httpx.post(f"{stack['ui']}/graphql", json={"query": query, "variables": variables}, timeout=60)
    r.raise_for_status()
    return r.json()["data"]


def _listener_pid(port: int) -> int | None:
    """The pid holding the listening socket on ``port`` (Linux /proc; our own processes only)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{cols[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
    return None


def _diagnostics(stack, subs: list[Subscriber]) -> str:
    """What the daemon and the stores did, without content: tick states, run states, record counts by tier."""
    import sqlite3

    out = []
    with contextlib.suppress(Exception):
        data = _graphql(
            stack,
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { name "
            "sensorState { status ticks(limit: 3) { status timestamp skipReason runIds "
            "error { message } } } } } } } }",
        )
        for repo in data["repositoriesOrError"]["nodes"]:
            for s in repo["sensors"]:
                ticks = [
                    (
                        t["status"],
                        t["skipReason"],
                        len(t["runIds"]),
                        ((t["error"] or {}).get("message") or "").splitlines()[:1],
                    )
                    for t in s["sensorState"]["ticks"]
                ]
                out.append(f"sensor {s['name']} {s['sensorState']['status']}: {ticks}")
    with contextlib.suppress(Exception):
        data = _graphql(
            stack,
            "{ runsOrError(limit: 15) { ... on Runs { results { status assetSelection { path } "
            "tags { key value } } } } }",
        )
        for run in data["runsOrError"]["results"]:
            part = [t["value"] for t in run["tags"] if t["key"] == "dagster/partition"]
            out.append(f"run {run['status']} {[a['path'][-1] for a in run['assetSelection'] or []]} {part}")
    with contextlib.suppress(Exception), sqlite3.connect(stack["home"] / "stores" / "metadata.sqlite") as c:
        out.append(f"records: {c.execute('select tier, status, count(*) from records group by 1, 2').fetchall()}")
    out += [f"ws {s.summary()}" for s in subs]
    return "\n".join(out)


def _ids(sub: Subscriber, tier: str | None = None) -> set[str]:
    return {m["id"] for m in sub.records() if tier is None or m["tier"] == tier}


@pytest.mark.timeout(900)  # one drop: a sensor run, then the automation's per-tier runs
def test_one_drop_is_pushed_searched_and_scoped_by_the_running_api(stack):
    api_port = int(stack["api"].rsplit(":", 1)[1])
    pid = stack["api_pid"]
    assert _listener_pid(api_port) == pid, "the API under test is the process the fixture started"
    marker, secret = f"zq{uuid.uuid4().hex[:10]}", f"hx{uuid.uuid4().hex[:10]}"
    full_token, low_token = stack["token"], _token(stack, "low")
    full, low = Subscriber(stack["api"], full_token), Subscriber(stack["api"], low_token)
    subs = [full, low]
    assert (full.scopes, low.scopes) == (["low", "medium", "high"], ["low"])
    time.sleep(2)  # both watches have taken their baseline (the first poll is a second away)
    start = time.monotonic()

    def lap(what: str) -> None:  # progress for -s: where a slow run spends its time
        print(f"{time.monotonic() - start:6.0f} s  {what}")

    def wait(fn, timeout: float, what: str):
        try:
            return wait_for(fn, timeout, what, interval=2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_diagnostics(stack, subs)}") from None

    inbox = stack["home"] / "inbox"
    try:
        # One drop, two exports: a private message (HIGH: it carries a card number) and two mailing-list
        # messages (LOW). Nobody runs anything: the inbox sensor and the automation sensor do.
        _drop(inbox, {"private.mbox": _private_mbox(secret), "herons.mbox": _list_mbox(marker)})

        # 1. Pushes: the full-scope subscriber hears of every record, the LOW one of the LOW records only.
        high_ids = wait(lambda: _ids(full, "HIGH"), 300, "the HIGH record pushed to the full-scope subscriber")
        low_ids = wait(lambda: len(_ids(low)) >= 2 and _ids(low), 300, "the LOW records pushed to the LOW subscriber")
        lap("records pushed")
        wait(lambda: low_ids <= _ids(full, "LOW"), 60, "the same LOW records pushed to full scope")
        assert len(high_ids) == 1 and len(low_ids) == 2, _diagnostics(stack, subs)
        assert {m["tier"] for m in low.records()} == {"LOW"} and not _ids(low) & high_ids, low.summary()
        assert not [p for p in inbox.iterdir() if not p.name.startswith(".")], "an ingested drop stays in the inbox"

        # 2. REST, same process: each marker is found by a token that may read it, the HIGH one by no other.
        hits = wait(
            lambda: _rest(stack, "/v1/search", low_token, q=marker)["hits"], 120, "the LOW marker to be found over REST"
        )
        assert {h["id"] for h in hits} <= low_ids and hits[0]["tier"] == "LOW", _diagnostics(stack, subs)
        hits = _rest(stack, "/v1/search", full_token, q=secret)["hits"]
        assert hits and hits[0]["id"] in high_ids, "the full-scope token finds the HIGH record by its marker"
        hits = _rest(stack, "/v1/search", low_token, q=secret)["hits"]  # vectors still rank the LOW records
        assert {h["tier"] for h in hits} <= {"LOW"} and not {h["id"] for h in hits} & high_ids
        lap("found over REST")

        # 3. Dropping the same export again processes nothing (while the per-tier runs go on).
        before = _record_count(stack)
        _drop(inbox, {"again.mbox": _list_mbox(marker)})

        # 4. Vectors come from the automation's per-tier runs: a query sharing no word with any record
        #    (so no keyword hit) finds the HIGH message for the full scope once its embedding is served.
        wait(
            lambda: (
                {h["id"] for h in _rest(stack, "/v1/search", full_token, q="payment credentials")["hits"]} & high_ids
            ),
            300,
            "the HIGH embedding to be searchable",
        )
        lap("HIGH embedding searchable")

        # 5. The LOW view's insights, built from the LOW records, are announced to the LOW subscriber.
        wait(lambda: "insights_changed" in low.kinds(), 400, "insights_changed pushed to the LOW subscriber")
        lap("LOW insights_changed pushed")
        assert {m["view"] for m in low.messages if m["type"] == "insights_changed"} == {"LOW"}
        assert {m["view"] for m in full.messages if m["type"] == "insights_changed"} <= {"HIGH"}
        evidence = {e for i in _rest(stack, "/v1/insights", low_token)["insights"] for e in i["evidence"]}
        assert evidence and evidence <= low_ids, "the announced LOW insights rest on the pushed LOW records"

        assert not (inbox / "again.mbox").exists(), "the duplicate drop was removed"
        assert _record_count(stack) == before and _ids(low) == low_ids, "the duplicate drop added records"

        # 6. No HIGH record, id or tier ever reached the LOW subscriber; the very same API process, on the
        #    very same connections, served all of it.
        assert not _ids(low) & high_ids and {m["type"] for m in low.messages} <= {"record", "insights_changed"}
        assert full.still_open() and low.still_open(), _diagnostics(stack, subs)
        assert stack["api_proc"].poll() is None and _listener_pid(api_port) == pid
    finally:
        for s in subs:
            s.close()
    card = "4111 1111 1111 1111"
    found = scan([stack["home"], stack["logs"]], [secret, card, marker])  # the servers' output too
    assert found[marker], "the scan must see LOW content, or it proves nothing"
    assert not found[secret] and not found[card], found
