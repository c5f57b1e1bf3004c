"""Versioned, encrypted snapshots of a tier view's knowledge graph.

A snapshot is the graph as JSON lines (one line for the graph, then one per node and one per edge),
gzip-compressed and encrypted in 1 MiB AES-GCM frames (whatever the tier: node labels are names), written
atomically as ``stores/graph/<tier>/v<N>.jsonl.gz.fenc``. Lines are written and read one at a time, so a
million-record graph is never also held as one JSON document or one decrypted blob, in the model run that
writes it or in the API that reads it. Snapshots of the older format (node-link JSON in one Fernet token,
``v<N>.json.gz.fenc``) are still read. The newest few versions are kept.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeAlias

import networkx as nx
import orjson

from twin_assets.keys import DecryptingReader, EncryptingWriter, Keyring
from twin_assets.sharing import Sharer

KEEP_VERSIONS = 3
_NAME = re.compile(r"^v(\d+)\.(jsonl|json)\.gz\.fenc$")
_LINES_PER_WRITE = 2000
_DUMP = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

# Node ids are strings (a DiGraph is a Graph too); quoted: networkx classes take no type arguments at run time.
Graph: TypeAlias = "nx.Graph[str]"
Item = dict[str, Any]  # one line of a snapshot


def _dump(obj: object) -> bytes:
    try:
        return orjson.dumps(obj, default=str, option=_DUMP)
    except orjson.JSONEncodeError:  # a lone surrogate in a name (a badly decoded header): escaped, as json does
        return json.dumps(obj, default=str).encode()


class GraphSnapshots:
    def __init__(self, root: Path, tier: str, keyring: Keyring) -> None:
        self.dir = root / tier.lower()
        self.keyring = keyring

    def _files(self) -> dict[int, Path]:
        if not self.dir.is_dir():
            return {}
        return {int(m.group(1)): p for p in self.dir.iterdir() if (m := _NAME.match(p.name))}

    def versions(self) -> list[int]:
        return sorted(self._files())

    def path(self, version: int) -> Path:
        return self._files().get(version) or self.dir / f"v{version}.jsonl.gz.fenc"

    def save(self, graph: Graph) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        version = (self.versions() or [0])[-1] + 1
        self._write(self.dir / f"v{version}.jsonl.gz.fenc", graph)
        for old in self.versions()[:-KEEP_VERSIONS]:
            self.path(old).unlink(missing_ok=True)
        return version

    def _write(self, dest: Path, graph: Graph) -> None:
        if graph.is_multigraph():
            raise TypeError("graph snapshots hold simple graphs (nx.Graph or nx.DiGraph)")
        tmp = dest.with_suffix(".tmp")
        with tmp.open("wb") as out:
            sealed = EncryptingWriter(self.keyring, out)
            # Level 3: a third of level 9's time (which was a fifth of the graph step) for ~20% more bytes.
            with gzip.GzipFile(fileobj=sealed, mode="wb", mtime=0, compresslevel=3) as gz:
                for chunk in _chunks(_lines(graph)):
                    gz.write(chunk)
            sealed.close()
        os.replace(tmp, dest)

    def load(self, version: int | None = None) -> tuple[int, Graph] | None:
        versions = self.versions()
        if not versions:
            return None
        version = version or versions[-1]
        return version, self._read(version)

    def _read(self, version: int) -> Graph:
        path = self.path(version)
        if path.name.endswith(".jsonl.gz.fenc"):
            return self._read_lines(path)
        data = json.loads(gzip.decompress(self.keyring.decrypt(path.read_bytes())))
        graph: Graph = nx.node_link_graph(data, edges="links")
        return graph

    def _read_lines(self, path: Path) -> Graph:
        items = self._items(path)
        head = next(items)
        g: Graph = nx.DiGraph() if head.get("directed") else nx.Graph()
        g.graph.update(head.get("graph") or {})
        for item in items:
            if "n" in item:
                g.add_node(item["n"], **item["a"])
            else:
                add_shared_edge(g, item["u"], item["v"], item["a"])
        nx._clear_cache(g)
        return g

    def load_entity_graph(self, version: int | None = None) -> tuple[int, Graph] | None:
        """The entities and their 'related' edges only, read line by line: what centrality and communities are
        about, without the records' nodes and mention edges (over a gigabyte at a million records)."""
        versions = self.versions()
        if not versions:
            return None
        version = version or versions[-1]
        eg: Graph = nx.Graph()
        for item in self.items(version):
            if "n" in item:
                if item["a"].get("type") == "entity":
                    eg.add_node(item["n"], **item["a"])
            elif "u" in item and item["a"].get("type") == "related" and item["u"] in eg and item["v"] in eg:
                eg.add_edge(item["u"], item["v"], **item["a"])
        return version, eg

    def items(self, version: int) -> Iterator[Item]:
        """A snapshot's lines one at a time: the graph's head, then ``{"n", "a"}`` per node and ``{"u", "v", "a"}``
        per edge (ids and flat attribute dicts shared), for readers that keep less than the whole graph."""
        path = self.path(version)
        if path.name.endswith(".jsonl.gz.fenc"):
            yield from self._items(path)
            return
        g = self._read(version)
        yield {"directed": g.is_directed(), "graph": g.graph}
        yield from ({"n": n, "a": a} for n, a in g.nodes(data=True))
        yield from ({"u": u, "v": v, "a": a} for u, v, a in g.edges(data=True))

    def _items(self, path: Path) -> Iterator[Item]:
        with (
            path.open("rb") as src,
            gzip.GzipFile(fileobj=io.BufferedReader(DecryptingReader(self.keyring, src), 1 << 20), mode="rb") as gz,
        ):
            yield orjson.loads(gz.readline())
            share = Sharer()
            for line in gz:
                item = orjson.loads(line)
                if "n" in item:
                    yield {"n": share.text(item["n"]), "a": share.value(item["a"])}
                else:
                    yield {"u": share.text(item["u"]), "v": share.text(item["v"]), "a": share.value(item["a"])}

    def rewrite_all(self, transform: Callable[[Graph], Graph]) -> int:
        """Apply ``transform`` to every kept version in place (forget reaches old snapshots too)."""
        n = 0
        for version in self.versions():
            old = self.path(version)
            graph = self._read(version)
            new = self.dir / f"v{version}.jsonl.gz.fenc"
            self._write(new, transform(graph))
            if old != new:
                old.unlink(missing_ok=True)
            n += 1
        return n

    def key_usage(self) -> dict[str, int]:
        usage: dict[str, int] = {}
        for version in self.versions():
            with self.path(version).open("rb") as fh:
                head = fh.read(68)
            # A framed stream starts with a 4-byte frame length (first byte 0); a single token with its key id.
            key_id = Keyring.key_id_of(head[4:] if head[:1] == b"\x00" else head)
            usage[key_id] = usage.get(key_id, 0) + 1
        return usage


def add_shared_edge(g: Graph, u: str, v: str, attrs: dict[str, Any]) -> None:
    """``g.add_edge(u, v, **attrs)``, except that ``attrs`` itself becomes the edge's data: networkx copies it, and
    a million mention edges with the same four attributes then held a million equal dicts (~230 B each). Callers
    pass a dict shared only when it holds no list or dict (see ``Sharer``), and nothing updates such edges in
    place; a directed graph takes the copying path."""
    if g.is_directed():
        g.add_edge(u, v, **attrs)
        return
    for n in (u, v):
        if n not in g:
            g.add_node(n)
    # networkx's own adjacency dicts (``g.adj`` is a read-only view of them), which its stubs leave out.
    adj: dict[str, dict[str, dict[str, Any]]] = g._adj  # type: ignore[attr-defined]
    old = adj[u].get(v)
    # An existing edge's data is updated as add_edge would, into a dict of its own: the old one may be shared.
    adj[u][v] = adj[v][u] = attrs if old is None else {**old, **attrs}


def _lines(graph: Graph) -> Iterator[bytes]:
    yield _dump({"directed": graph.is_directed(), "graph": graph.graph}) + b"\n"
    for node, attrs in graph.nodes(data=True):
        yield _dump({"n": node, "a": attrs}) + b"\n"
    for u, v, attrs in graph.edges(data=True):
        yield _dump({"u": u, "v": v, "a": attrs}) + b"\n"


def _chunks(lines: Iterator[bytes]) -> Iterator[bytes]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _LINES_PER_WRITE:
            yield b"".join(batch)
            batch.clear()
    if batch:
        yield b"".join(batch)
