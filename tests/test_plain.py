"""``plain`` stores what ``dataclasses.asdict`` would, without copying."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from twin_assets.stores.derived import plain


@dataclass
class _Inner:
    name: str
    score: float


@dataclass
class _Outer:
    id: str
    when: datetime
    tags: list[str]
    inner: _Inner
    inners: list[_Inner]
    by_key: dict[str, _Inner]
    counts: dict[str, int] = field(default_factory=dict)
    none: None = None


def test_plain_matches_asdict_on_nested_dataclasses():
    obj = _Outer(
        "x",
        datetime(2024, 1, 1, tzinfo=UTC),
        ["a", "b"],
        _Inner("i", 0.5),
        [_Inner("j", 1.0)],
        {"k": _Inner("k", 2.0)},
        {"n": 3},
    )
    assert plain(obj) == asdict(obj)
    assert plain(obj)["tags"] is obj.tags  # no copies: it is serialised at once
