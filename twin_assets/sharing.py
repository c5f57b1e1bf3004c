"""One object for each repeated value of a view held in memory.

A view's documents repeat the same small values over and over: the same
people's party entries (``{"role": "from", "name": ..., "email": ...}``), the
same roles, time zones and thread ids; mentions repeat the same entity ids.
Parsed from JSON, each occurrence is its own object. Sharing equal ones cut a
100k-record view's documents from 207 to 118 MiB (``tracemalloc``), so a
million-record view fits in memory with room for the steps' own work.

Shared containers must never be mutated in place; the model steps only read
documents and mentions.
"""

from __future__ import annotations

from typing import Any

SHARE_MAX_CHARS = 200  # longer strings (bodies, subjects) are rarely repeated exactly


class Sharer:
    def __init__(self) -> None:
        self._memo: dict[Any, Any] = {}

    def __len__(self) -> int:
        return len(self._memo)

    def text(self, value: str) -> str:
        return self._memo.setdefault(value, value) if len(value) <= SHARE_MAX_CHARS else value

    def tuple(self, values: Any) -> tuple:
        """``values`` as one shared tuple of shared strings (lists of entity ids repeat across events)."""
        t = tuple(self.text(v) if isinstance(v, str) else v for v in values)
        try:
            return self._memo.setdefault((tuple, t), t)
        except TypeError:
            return t

    def value(self, obj: Any) -> Any:
        """``obj`` with every short string and every dict of hashable values replaced by a shared equal one.

        Dicts and lists are updated in place (callers hand over what they just parsed): building copies
        left the parsed originals as holes between the kept objects, and the process kept those pages."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            for k, v in obj.items():
                obj[k] = self.value(v)  # same keys: safe while iterating
            try:
                # Types in the key: 1, 1.0 and True are equal and hash alike, yet must stay what they were.
                key = (dict, *((k, type(v), v) for k, v in obj.items()))
                return self._memo.setdefault(key, obj)
            except TypeError:  # holds a list or dict: kept as its own object
                return obj
        if isinstance(obj, list):
            for i, v in enumerate(obj):
                obj[i] = self.value(v)
            return obj
        return obj
