"""Sensitivity tiers and who may read them: the privacy boundary, in one place.

Every record is HIGH, MEDIUM or LOW. The *view* of a tier is built from, and serves, that tier and every tier
below it, so nothing in the LOW view derives from MEDIUM or HIGH evidence (invariant 2). An API token carries
*scopes* (``low``, ``medium``, ``high``); a scope grants the tiers its view reads, and a caller gets the view of
the highest tier their scopes grant. Everything else asks this module: no other code ranks tiers, compares
their names or maps scopes to tiers (``tests/test_tier_rules.py`` keeps it so).

Tier values are the strings already stored in the databases, artifacts and JSON ("HIGH", "MEDIUM", "LOW");
scope values the strings stored with tokens ("low", "medium", "high"). Both are ``StrEnum``s: they equal, hash
and serialise as those strings, so data written before this module existed reads unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from twin_assets.errors import TwinError

__all__ = ["HIGH", "LOW", "MEDIUM", "TIERS", "Grant", "Scope", "Tier", "UnknownTierError", "view_for"]


class UnknownTierError(TwinError, ValueError):
    """A name that is no tier or no scope."""


def _shown(name: object) -> str:
    # The name may come from a config file or a request: short, and never more than a name's worth of text.
    return repr(name)[:24]


class Tier(StrEnum):
    """A sensitivity tier, ordered by sensitivity (``LOW < MEDIUM < HIGH``), not alphabetically."""

    # Declared highest first, so iterating over ``Tier`` (and ``TIERS``) runs HIGH, MEDIUM, LOW.
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        return _RANK[self]

    # str would order "HIGH" < "LOW"; comparing with a name that is no tier is an error, not False.
    def __lt__(self, other: object) -> bool:
        return self.rank < Tier.parse(other).rank

    def __le__(self, other: object) -> bool:
        return self.rank <= Tier.parse(other).rank

    def __gt__(self, other: object) -> bool:
        return self.rank > Tier.parse(other).rank

    def __ge__(self, other: object) -> bool:
        return self.rank >= Tier.parse(other).rank

    @classmethod
    def parse(cls, name: object) -> Tier:
        """The tier a name (any case, e.g. from ``classification.yaml``) stands for; an error for any other."""
        if isinstance(name, str):
            # Called per verdict and per piece of evidence: a dict lookup first, the lenient spelling only after.
            tier = _BY_NAME.get(name) or _BY_NAME.get(name.strip().upper())
            if tier is not None:
                return tier
        raise UnknownTierError(f"unknown tier {_shown(name)}", hint="use HIGH, MEDIUM or LOW")

    @classmethod
    def max_of(cls, *tiers: str) -> Tier:
        """The highest of ``tiers`` (LOW for none): derived data inherits the highest tier of its evidence."""
        if not tiers:
            return cls.LOW
        try:  # the common case, stored names: one pass, no parsing (this runs per derived item)
            return _BY_NAME[max(tiers, key=_RANK.__getitem__)]
        except (KeyError, TypeError):  # another spelling, or no name at all: parse says which
            return max((cls.parse(t) for t in tiers), key=_RANK.__getitem__)

    @classmethod
    def highest_first(cls) -> tuple[Tier, ...]:
        return TIERS

    @classmethod
    def lowest_first(cls) -> tuple[Tier, ...]:
        return TIERS[::-1]

    def reads(self) -> tuple[Tier, ...]:
        """The tiers the view of this tier is built from and serves: this one and every lower one, highest first."""
        return tuple(t for t in TIERS if t.rank <= self.rank)

    def readable_by(self, view: str) -> bool:
        """Whether the view of tier ``view`` may read (and derive from) data of this tier."""
        return self.rank <= Tier.parse(view).rank

    def reads_any(self, tiers: Iterable[str]) -> bool:
        """Whether the view of this tier reads any of ``tiers`` (so a change to them changes it)."""
        return any(Tier.parse(t).readable_by(self) for t in tiers)


# Keyed by the plain strings (a Tier hashes and compares as its value), so stored names rank without parsing.
_RANK = {Tier.LOW.value: 0, Tier.MEDIUM.value: 1, Tier.HIGH.value: 2}
_BY_NAME: dict[str, Tier] = {t.value: t for t in Tier}
TIERS: tuple[Tier, ...] = tuple(Tier)
# Short names for the stores' and classifiers' code, which says HIGH far more often than it ranks tiers.
HIGH, MEDIUM, LOW = Tier.HIGH, Tier.MEDIUM, Tier.LOW


class Scope(StrEnum):
    """An API token's scope: it grants the tiers the view of its tier reads."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def tier(self) -> Tier:
        return Tier.parse(self.value)

    def grants(self) -> tuple[Tier, ...]:
        return self.tier.reads()

    @classmethod
    def parse(cls, name: object) -> Scope:
        if isinstance(name, str):
            try:
                return cls(name.strip().lower())
            except ValueError:
                pass
        raise UnknownTierError(f"unknown scope {_shown(name)}", hint="use low, medium, high")

    @classmethod
    def parse_list(cls, text: str) -> list[Scope]:
        """Comma-separated scope names (``twin tokens create --scopes``): each once, lowest first."""
        names = [s.strip().lower() for s in text.split(",") if s.strip()]
        bad = [s for s in names if s not in cls._value2member_map_]
        if bad or not names:
            raise UnknownTierError(
                f"unknown scope(s): {', '.join(bad) or '(none given)'}", hint="use low, medium, high"
            )
        return [s for s in cls if s.value in names]


def view_for(tiers: Iterable[str]) -> Tier | None:
    """The view a caller who may read ``tiers`` gets: the highest of them (None when they may read none)."""
    given = set(tiers)
    readable = [t for t in TIERS if t in given]
    return readable[0] if readable else None


@dataclass(frozen=True)
class Grant:
    """What a token's scopes let it read. A scope name that is no scope grants nothing (fail closed)."""

    scopes: tuple[str, ...]

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """Every tier granted, highest first."""
        granted = {t for s in self.scopes if s.strip() in Scope._value2member_map_ for t in Scope(s.strip()).grants()}
        return tuple(t for t in TIERS if t in granted)

    @property
    def view(self) -> Tier | None:
        """The view served to this token: the highest tier granted, or None."""
        return view_for(self.tiers)

    def can_read(self, tier: str | None) -> bool:
        """Whether data of ``tier`` may be shown; data without a tier (or with an unknown one) never is."""
        return tier in self.tiers
