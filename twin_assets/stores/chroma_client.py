"""How every process reaches Chroma without corrupting it.

Embedded Chroma (``PersistentClient``) is not process-safe, and a long-lived
reader keeps serving stale vectors (DESIGN.md). So:

1. ``TWIN_CHROMA_URL`` set: always a Chroma server over HTTP.
2. A server this home started (``twin serve`` / ``twin demo`` register one in
   ``run/chroma.json``) is alive: use it over HTTP.
3. Otherwise the process is alone with the files: embedded Chroma, under an
   exclusive file lock held for the whole use, released (and the client's
   cache cleared) on exit so the next user reads fresh state.

The managed server takes the same lock for its whole life, so an embedded user
and a server never open the directory at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx

from twin_assets.errors import ConfigError
from twin_assets.settings import TwinSettings

LOCK_WAIT_SECONDS = 600.0
ALIVE_TTL_SECONDS = 2.0  # a search must not pay a heartbeat round trip; a dead server fails the next call anyway

# HTTP clients are cheap to keep and costly to make (each checks tenant and database over HTTP): one per URL
# per process. Embedded clients are never cached: a long-lived one serves stale vectors (DESIGN.md).
_http_clients: dict[str, object] = {}
_alive_at: dict[str, float] = {}


def _chroma_settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def _alive(url: str, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _alive_cached(url: str) -> bool:
    now = time.monotonic()
    if now - _alive_at.get(url, -ALIVE_TTL_SECONDS) < ALIVE_TTL_SECONDS:
        return True
    if _alive(url):
        _alive_at[url] = now
        return True
    _alive_at.pop(url, None)
    return False


def registered_server(settings: TwinSettings) -> str | None:
    path = settings.run_dir / "chroma.json"
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return info["url"] if _alive_cached(info["url"]) else None


def http_client(url: str):
    client = _http_clients.get(url)
    if client is None:
        client = _http_clients[url] = _new_http_client(url)
    return client


def is_shared(client: object) -> bool:
    """True for a cached HTTP client, whose collection handles may be kept too."""
    return any(c is client for c in _http_clients.values())


def _new_http_client(url: str):
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
            hint="start it, or unset TWIN_CHROMA_URL to use embedded Chroma",
        ) from None


@contextlib.contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        "the vector store is busy (another process holds it)",
                        hint="wait for the running materialization, or start a Chroma server",
                    ) from None
                time.sleep(0.2)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def open_chroma(settings: TwinSettings, wait: float = LOCK_WAIT_SECONDS) -> Iterator[object]:
    """A Chroma client that is safe to use from this process for the duration of the block."""
    url = settings.chroma_url or registered_server(settings)
    if url:
        yield http_client(url)
        return
    import chromadb

    with _file_lock(settings.stores_dir / "chroma.lock", wait):
        # A server may have registered while we waited for the lock's previous holder.
        url = registered_server(settings)
        if url:
            yield http_client(url)
            return
        client = chromadb.PersistentClient(path=str(settings.chroma_dir), settings=_chroma_settings())
        try:
            yield client
        finally:
            client.clear_system_cache()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagedChromaServer:
    """A ``chroma run`` child process owning this home's Chroma directory."""

    def __init__(self, settings: TwinSettings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self._lock_cm: contextlib.AbstractContextManager[int] | None = None

    def start(self, timeout: float = 60.0) -> str:
        self._lock_cm = _file_lock(self.settings.stores_dir / "chroma.lock", LOCK_WAIT_SECONDS)
        self._lock_cm.__enter__()
        port = _free_port()
        exe = Path(sys.executable).with_name("chroma")
        self.settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(exe), "run", "--path", str(self.settings.chroma_dir), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(self.settings.run_dir),
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not _alive(url, 0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ConfigError("the Chroma server did not start", hint="check that port binding is allowed")
            time.sleep(0.2)
        self.url = url
        info = self.settings.run_dir / "chroma.json"
        info.write_text(json.dumps({"url": url, "pid": self.proc.pid}))
        return url

    def stop(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.settings.run_dir / "chroma.json").unlink()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
        if self._lock_cm is not None:
            self._lock_cm.__exit__(None, None, None)
            self._lock_cm = None
