"""Disk full, an unwritable home and a locked database are one line naming the problem and the fix — from a
Dagster step (what `twin ingest` prints), from the CLI and from the API — never "failed with OperationalError", a
traceback or a bare 500. A full disk cannot be made unprivileged, so the error is injected at the write.

Also `twin demo --people N` below what the demo's cast needs: a clear usage error, not a traceback.
"""

from __future__ import annotations

import errno
import sqlite3
import sys

import pytest
from sqlalchemy.exc import OperationalError as SAOperationalError

from twin_assets.errors import DISK_FULL, LOCKED, NOT_WRITABLE, storage_error

CASES = [
    (sqlite3.OperationalError("database or disk is full"), DISK_FULL),
    (OSError(errno.ENOSPC, "No space left on device"), DISK_FULL),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), DISK_FULL),
    (PermissionError(errno.EACCES, "Permission denied"), NOT_WRITABLE),
    (OSError(errno.EROFS, "Read-only file system"), NOT_WRITABLE),
    (sqlite3.OperationalError("attempt to write a readonly database"), NOT_WRITABLE),
    (sqlite3.OperationalError("database is locked"), LOCKED),
    (SAOperationalError("INSERT INTO records ...", {}, sqlite3.OperationalError("database is locked")), LOCKED),
]


def _line(kind: tuple[str, str]) -> str:
    return f"{kind[0]} ({kind[1]})"


@pytest.mark.parametrize(("exc", "kind"), CASES)
def test_each_is_one_line_naming_problem_and_fix(exc, kind):
    err = storage_error(exc)
    assert err is not None and str(err) == _line(kind) and "\n" not in str(err)
    assert "INSERT" not in str(err)  # nothing of the statement (or a record) is quoted


@pytest.mark.parametrize(
    "exc", [sqlite3.OperationalError("no such table: records"), ValueError("database is locked"), KeyError("x")]
)
def test_other_errors_are_not_storage_errors(exc):
    assert storage_error(exc) is None


def test_a_wrapped_error_is_found_in_the_chain():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("write failed") from inner
    except RuntimeError as outer:
        assert str(storage_error(outer)) == _line(DISK_FULL)


@pytest.mark.parametrize(("exc", "kind"), CASES[:1] + CASES[3:4] + CASES[6:7])
def test_a_dagster_step_says_it_instead_of_the_type_name(exc, kind):
    from dagster import Failure

    from twin_assets.defs.resources import content_safe

    @content_safe
    def documents() -> None:
        raise exc

    with pytest.raises(Failure) as failed:
        documents()
    assert failed.value.description == _line(kind)  # was "documents failed with OperationalError"


@pytest.mark.parametrize(("exc", "kind"), CASES[:1] + CASES[3:4] + CASES[7:8])
def test_the_cli_prints_one_line_and_exits_2(home, monkeypatch, capsys, exc, kind):
    import twin_query.tokens
    from twin_query.cli import main

    def write_fails(*_a, **_k):
        raise exc

    monkeypatch.setattr(twin_query.tokens, "create_token", write_fails)
    monkeypatch.setattr(sys, "argv", ["twin", "tokens", "create", "--scopes", "low"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err == f"error: {_line(kind)}\n"


def test_twin_ingest_says_the_disk_is_full(home, tmp_path, monkeypatch, capsys):
    """The reported case end to end: the documents step's write hits a full disk during `twin ingest`."""
    from tests.test_slice import MBOX
    from twin_assets.stores.documents import DocumentStore
    from twin_query.cli import main

    def full(*_a, **_k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(DocumentStore, "put_many", full)
    export = tmp_path / "mail.mbox"
    export.write_text(MBOX)
    monkeypatch.setattr(sys, "argv", ["twin", "ingest", str(export), "--json"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code != 0
    err = capsys.readouterr().err
    assert DISK_FULL[0] in err and DISK_FULL[1] in err
    assert "OperationalError" not in err and "Traceback" not in err


@pytest.mark.parametrize(("exc", "kind"), CASES[:1] + CASES[6:7])
def test_the_api_answers_503_with_the_line(home, start_api, monkeypatch, exc, kind):
    from twin_assets.twin import open_twin
    from twin_query.api.app import create_app
    from twin_query.service import QueryService
    from twin_query.tokens import create_token

    twin = open_twin(home)
    token = create_token(twin, ["low"])
    twin.close()

    def search_fails(*_a, **_k):
        raise exc

    monkeypatch.setattr(QueryService, "search", search_fails)
    client = start_api(create_app(home), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/v1/search", params={"q": "anything"}, headers=auth)
    assert (r.status_code, r.json()) == (503, {"detail": _line(kind)})
    with client.websocket_connect(f"/v1/ws?token={token}") as ws:
        ws.receive_json()
        ws.send_json({"type": "search", "q": "anything"})
        assert ws.receive_json() == {"type": "error", "status": 503, "detail": _line(kind)}


def test_demo_with_too_few_people_is_a_usage_error():
    from typer.testing import CliRunner

    from twin_assets.demo.world import MIN_PEOPLE
    from twin_query.cli import app

    result = CliRunner().invoke(app, ["demo", "--people", str(MIN_PEOPLE - 2), "--no-serve"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # a usage error, not a ValueError
    said = " ".join(result.output.replace("│", " ").split())  # the box wraps lines at the terminal width
    assert f"needs at least {MIN_PEOPLE}" in said and "Traceback" not in said
    help_text = " ".join(CliRunner().invoke(app, ["demo", "--help"]).output.replace("│", " ").split())
    assert f"at least {MIN_PEOPLE}" in help_text
