"""Versioned, encrypted snapshots of a tier view's knowledge graph.

A snapshot is NetworkX node-link JSON, gzip-compressed and Fernet-encrypted
(whatever the tier: node labels are names), written atomically as
``stores/graph/<tier>/v<N>.json.gz.fenc``. The newest few versions are kept.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from twin_assets.keys import Keyring

KEEP_VERSIONS = 3
_NAME = re.compile(r"^v(\d+)\.json\.gz\.fenc$")


class GraphSnapshots:
    def __init__(self, root: Path, tier: str, keyring: Keyring) -> None:
        self.dir = root / tier.lower()
        self.keyring = keyring

    def versions(self) -> list[int]:
        if not self.dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.dir.iterdir() if (m := _NAME.match(p.name)))

    def path(self, version: int) -> Path:
        return self.dir / f"v{version}.json.gz.fenc"

    def save(self, graph: nx.Graph) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        version = (self.versions() or [0])[-1] + 1
        data = json.dumps(nx.node_link_data(graph, edges="links"), default=str).encode()
        blob = self.keyring.encrypt(gzip.compress(data, mtime=0))
        tmp = self.path(version).with_suffix(".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, self.path(version))
        for old in self.versions()[:-KEEP_VERSIONS]:
            self.path(old).unlink(missing_ok=True)
        return version

    def load(self, version: int | None = None) -> tuple[int, nx.Graph] | None:
        versions = self.versions()
        if not versions:
            return None
        version = version or versions[-1]
        data = json.loads(gzip.decompress(self.keyring.decrypt(self.path(version).read_bytes())))
        return version, nx.node_link_graph(data, edges="links")

    def rewrite_all(self, transform: Callable[[nx.Graph], nx.Graph]) -> int:
        """Apply ``transform`` to every kept version in place (forget reaches old snapshots too)."""
        n = 0
        for version in self.versions():
            _, graph = self.load(version)
            data = json.dumps(nx.node_link_data(transform(graph), edges="links"), default=str).encode()
            tmp = self.path(version).with_suffix(".tmp")
            tmp.write_bytes(self.keyring.encrypt(gzip.compress(data, mtime=0)))
            os.replace(tmp, self.path(version))
            n += 1
        return n

    def key_usage(self) -> dict[str, int]:
        usage: dict[str, int] = {}
        for version in self.versions():
            key_id = Keyring.key_id_of(self.path(version).read_bytes()[:64])
            usage[key_id] = usage.get(key_id, 0) + 1
        return usage
