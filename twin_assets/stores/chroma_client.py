"""How every process reaches Chroma.

1. ``TWIN_CHROMA_URL`` set: always that Chroma server over HTTP.
2. Otherwise the home's own server (:mod:`chroma_server`), started on first use
   and shared by every process that opens the home; it stops by itself once no
   process has used it for ``TWIN_CHROMA_IDLE_SECONDS``.

No process of the twin ever opens embedded Chroma: a process that decrypts
records must not be the one whose native code writes Chroma's files (freed
plaintext reached ``data_level0.bin`` that way), and embedded Chroma is not
process-safe (chroma-core/chroma#3792).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from twin_assets.errors import ConfigError
from twin_assets.settings import TwinSettings
from twin_assets.stores import chroma_server
from twin_assets.stores.vectors import ChromaVectors

LOCK_WAIT_SECONDS = 600.0
ALIVE_TTL_SECONDS = 2.0  # a search must not pay a heartbeat round trip; a dead server fails the next call anyway
_HAS_PROC = Path("/proc/self/stat").exists()

if TYPE_CHECKING:  # chromadb is imported where it is used: it takes a second and most processes never need it
    from chromadb.api import ClientAPI
    from chromadb.config import Settings


def _chroma_settings() -> Settings:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


class ChromaClients:
    """HTTP clients by URL, when each server last answered, and the collection handles kept on each client.

    Clients are cheap to keep and costly to make (each checks tenant and database over HTTP), so whoever keeps a
    process's twin handles owns one pool and hands it to every handle it opens: the API's query service, a
    Dagster run's ``TwinResource``. A handle opened on its own gets a pool of its own.
    """

    def __init__(self) -> None:
        self._clients: dict[str, ClientAPI] = {}
        self._alive_at: dict[str, float] = {}
        self._vectors: dict[int, tuple[ClientAPI, ChromaVectors]] = {}

    def client(self, url: str) -> ClientAPI:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = _new_http_client(url)
        return client

    def owns(self, url: str, client: object) -> bool:
        return self._clients.get(url) is client

    def vectors(self, client: ClientAPI) -> ChromaVectors:
        """The vector handle of ``client``: its collection handles survive across calls, so a search costs one
        round trip."""
        entry = self._vectors.get(id(client))
        if entry is None or entry[0] is not client:
            entry = self._vectors[id(client)] = (client, ChromaVectors(client))
        return entry[1]

    def alive(self, url: str) -> bool:
        now = time.monotonic()
        if now - self._alive_at.get(url, -ALIVE_TTL_SECONDS) < ALIVE_TTL_SECONDS:
            return True
        if chroma_server.answers(url, timeout=1.0):
            self._alive_at[url] = now
            return True
        self._alive_at.pop(url, None)
        return False


def registered_server(settings: TwinSettings, clients: ChromaClients | None = None) -> str | None:
    """The URL of the server that serves this home's Chroma directory, when one is up."""
    path = settings.run_dir / "chroma.json"
    try:
        info = json.loads(path.read_text())
        if not _pid_running(int(info["pid"])) or not _serves(settings, info):
            return None
    except (OSError, ValueError, KeyError):
        return None
    return info["url"] if (clients or ChromaClients()).alive(info["url"]) else None


def _serves(settings: TwinSettings, info: dict[str, object]) -> bool:
    """Whether the registered server serves this home's directory. A home copied (or restored) while its server
    ran carries that server's registration: trusted, every read and forget went to the original's vectors."""
    if "dir" in info:
        return info["dir"] == chroma_server.dir_id(settings.chroma_dir)
    # Registered by a server from before ``dir``: ours when someone holds this home's directory lock.
    fd = os.open(settings.stores_dir / "chroma.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _pid_running(pid: int) -> bool:
    """Alive and not a zombie: a server killed while its starter lives on stays a zombie until reaped."""
    if _HAS_PROC:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _new_http_client(url: str) -> ClientAPI:
    import chromadb

    parsed = urlparse(url)
    if not parsed.hostname:
        raise ConfigError(f"TWIN_CHROMA_URL {url!r} is not an http://host:port URL")
    try:
        return chromadb.HttpClient(
            host=parsed.hostname,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=_chroma_settings(),
        )
    except Exception as exc:  # chromadb raises bare Exceptions for connection failures
        raise ConfigError(
            f"Chroma server at {url} does not answer ({type(exc).__name__})",
            hint="start it, or unset TWIN_CHROMA_URL to use the home's own Chroma server",
        ) from None


@contextlib.contextmanager
def _lease(settings: TwinSettings, wait: float) -> Iterator[None]:
    """A shared hold on the home's server: it does not stop while any process holds one."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / "chroma.lease"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _flock(fd, fcntl.LOCK_SH, wait, "the vector store's server is stopping and does not let go")
        os.utime(fd)  # the server measures idleness from the last use
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _flock(fd: int, op: int, wait: float, what: str) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, op | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ConfigError(what) from None
            time.sleep(0.05)


def _start_server(settings: TwinSettings, wait: float, clients: ChromaClients | None = None) -> str:
    """The home's server URL, starting the server when no process has."""
    deadline = time.monotonic() + wait
    while True:
        url = registered_server(settings, clients)
        if url:
            return url
        settings.stores_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twin_assets.stores.chroma_server",
                "--chroma-dir",
                str(settings.chroma_dir),
                "--lock",
                str(settings.stores_dir / "chroma.lock"),
                "--run-dir",
                str(settings.run_dir),
                "--idle",
                str(settings.chroma.idle_seconds),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(settings.run_dir),
            start_new_session=True,  # outlives this process; a ^C here must not stop it
        )
        while proc.poll() is None and time.monotonic() < deadline:
            url = registered_server(settings, clients)
            if url:
                return url
            time.sleep(0.05)
        code = proc.poll()
        if code is None or code not in (0, chroma_server.EXIT_BUSY):
            with contextlib.suppress(ProcessLookupError):
                if code is None:
                    proc.kill()
            reason = settings.run_dir / "chroma.error"
            raise ConfigError(
                "the vector store's server did not start"
                + (f": {reason.read_text().strip()}" if reason.exists() else ""),
                hint="check that this machine allows a process to listen on 127.0.0.1, or set TWIN_CHROMA_URL",
            )
        # EXIT_BUSY: another process owns the directory (a server starting, or one stopping); wait for it.
        if time.monotonic() > deadline:
            raise ConfigError(
                "the vector store is busy (another process holds stores/chroma.lock)",
                hint="wait for it, or stop the process that holds it",
            )
        time.sleep(0.1)


@contextlib.contextmanager
def open_chroma(
    settings: TwinSettings, wait: float = LOCK_WAIT_SECONDS, clients: ChromaClients | None = None
) -> Iterator[ClientAPI]:
    """A Chroma client that is safe to use from this process for the duration of the block, from ``clients``
    (the caller's pool; a new one when not given)."""
    clients = clients if clients is not None else ChromaClients()
    if settings.chroma.url:
        yield clients.client(settings.chroma.url)
        return
    with _lease(settings, wait):
        yield clients.client(_start_server(settings, wait, clients))


def home_server_dir(settings: TwinSettings, client: object, clients: ChromaClients) -> Path | None:
    """The directory behind ``client`` (from ``clients``) when it is this home's own server (whose files we may
    reach)."""
    if settings.chroma.url:
        return None
    url = registered_server(settings, clients)
    return settings.chroma_dir if url and clients.owns(url, client) else None


@contextlib.contextmanager
def hold_server(settings: TwinSettings) -> Iterator[str]:
    """The Chroma URL for a long-lived process (the API, the demo), kept up for the whole block."""
    if settings.chroma.url:
        yield settings.chroma.url
        return
    with _lease(settings, LOCK_WAIT_SECONDS):
        yield _start_server(settings, LOCK_WAIT_SECONDS)
