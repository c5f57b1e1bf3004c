"""The home's own Chroma server: a separate process that owns ``stores/chroma``.

Why a process of its own even on a laptop: a process that decrypts records
holds their plaintext in freed heap memory, and Chroma's native index writer
has been seen to persist such bytes into ``data_level0.bin`` (a MEDIUM canary
found at rest in CI). This process never sees a record: it receives ids,
vectors and LOW metadata over HTTP and nothing else, so nothing else can reach
its files. Embedded Chroma is also not process-safe (chroma-core/chroma#3792), which one
owner solves too.

Protocol, all under the home (files named in :mod:`chroma_client`):

- ``stores/chroma.lock``: held exclusively for this process's life; whoever
  holds it owns the Chroma directory.
- ``run/chroma.json``: ``{"url", "pid", "dir"}``, written once the server answers,
  removed before it stops. ``dir`` (:func:`dir_id`) names the directory served: a
  home copied while its server runs carries the original's registration, whose
  server must not be taken for the copy's own.
- ``run/chroma.lease``: every user holds a shared lock on it while it talks to
  the server (and touches it). The server stops after ``idle`` seconds without
  a user: it takes the lease exclusively, so no user is mid-call, unregisters
  and exits; a user waiting on the lease then finds no server and starts one.

Run as ``python -m twin_assets.stores.chroma_server`` (the client does this);
it imports nothing of the twin that could decrypt.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import httpx

EXIT_BUSY = 3  # another process owns the directory (its server is, or soon will be, registered)
EXIT_NO_START = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dir_id(path: Path) -> str:
    """The directory's identity (device and inode): a copy of it differs, the same one moved or reached through
    a link does not."""
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}"


def answers(url: str, timeout: float = 0.5) -> bool:
    """Whether a Chroma server answers its heartbeat at ``url``."""
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _serve(chroma_dir: Path, port: int) -> None:
    import chromadb_rust_bindings

    # The Rust server releases the GIL, so the idle watch below keeps running beside it.
    chromadb_rust_bindings.cli(["chroma", "run", "--path", str(chroma_dir), "--host", "127.0.0.1", "--port", str(port)])


def _idle_for(lease: Path, started: float) -> float:
    try:
        last = max(lease.stat().st_mtime, started)
    except FileNotFoundError:
        return float("inf")  # the home is gone
    return time.time() - last


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chroma-dir", type=Path, required=True)
    ap.add_argument("--lock", type=Path, required=True)
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--idle", type=float, required=True, help="seconds without a user before stopping")
    args = ap.parse_args(argv)

    lock_fd = os.open(args.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return EXIT_BUSY
    error = args.run_dir / "chroma.error"
    error.unlink(missing_ok=True)
    try:
        args.chroma_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(args.chroma_dir, os.W_OK):
            raise PermissionError(f"{args.chroma_dir} is not writable")
    except OSError as exc:
        # The starter's stderr is not ours to keep; it reads the reason from here.
        error.write_text(f"{type(exc).__name__}: {exc}")
        return EXIT_NO_START
    info = args.run_dir / "chroma.json"
    lease = args.run_dir / "chroma.lease"
    lease.touch(mode=0o600)

    for _ in range(5):  # a port picked free can be taken before the server binds it
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        threading.Thread(target=_serve, args=(args.chroma_dir, port), daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not answers(url):
            time.sleep(0.05)
        if answers(url):
            break
    else:
        error.write_text(f"Chroma's server did not answer on 127.0.0.1 (last port tried: {port})")
        return EXIT_NO_START
    tmp = info.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "dir": dir_id(args.chroma_dir)}))
    tmp.replace(info)
    started = time.time()

    lease_fd = os.open(lease, os.O_RDWR)
    poll = min(1.0, max(args.idle / 4, 0.05))
    while True:
        time.sleep(poll)
        try:
            fcntl.flock(lease_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # someone is using the server
        if _idle_for(lease, started) >= args.idle or not info.exists():
            with contextlib.suppress(FileNotFoundError):
                if json.loads(info.read_text()).get("pid") == os.getpid():
                    info.unlink()
            # Every write was committed to Chroma's SQLite log when its call returned, and no
            # call is in flight (we hold the lease): exiting now loses nothing (SIGKILL-tested).
            os._exit(0)
        fcntl.flock(lease_fd, fcntl.LOCK_UN)


if __name__ == "__main__":
    sys.exit(main())
