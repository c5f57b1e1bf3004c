"""Scan every byte the twin wrote for planted strings.

Raw bytes of every file, plus every text/blob value of every table of every
readable SQLite database (a value can straddle overflow pages, so a raw scan
alone could miss it), plus gzip/zlib-compressed members where we find them.
"""

from __future__ import annotations

import contextlib
import gzip
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


def _variants(needle: str) -> list[bytes]:
    return [needle.encode(), needle.encode("utf-16-le")]


def _sqlite_values(path: Path) -> Iterable[bytes]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            try:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    for value in row:
                        if isinstance(value, str):
                            yield value.encode()
                        elif isinstance(value, bytes):
                            yield value
                            if value[:2] == b"\x1f\x8b":
                                with contextlib.suppress(OSError):
                                    yield gzip.decompress(value)
                            elif value[:1] == b"x":
                                with contextlib.suppress(zlib.error):
                                    yield zlib.decompress(value)
            except sqlite3.Error:
                continue
    finally:
        conn.close()


def scan(roots: Iterable[Path], needles: Iterable[str]) -> dict[str, list[str]]:
    """Map each needle to the files (and tables) where it was found."""
    needles = [n for n in needles if n]
    hits: dict[str, list[str]] = {n: [] for n in needles}
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for n in needles:
                if any(v in data for v in _variants(n)):
                    hits[n].append(str(path))
            if data.startswith(SQLITE_MAGIC):
                for value in _sqlite_values(path):
                    for n in needles:
                        if n.encode() in value and f"{path}#sql" not in hits[n]:
                            hits[n].append(f"{path}#sql")
            if data[:2] == b"\x1f\x8b":
                try:
                    unpacked = gzip.decompress(data)
                except OSError:
                    unpacked = b""
                for n in needles:
                    if n.encode() in unpacked:
                        hits[n].append(f"{path}#gzip")
    return hits
