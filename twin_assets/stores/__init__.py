"""Where content lives, by sensitivity tier (docs/privacy.md, invariants 1-3)."""

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"
TIERS = (HIGH, MEDIUM, LOW)
TIER_RANK = {LOW: 0, MEDIUM: 1, HIGH: 2}
# API scopes map to the tiers they may read.
SCOPE_TIERS = {"low": (LOW,), "medium": (MEDIUM, LOW), "high": (HIGH, MEDIUM, LOW)}


def max_tier(*tiers: str) -> str:
    """Derived data inherits the highest tier of its evidence (invariant 2)."""
    return max(tiers, key=TIER_RANK.__getitem__) if tiers else LOW
