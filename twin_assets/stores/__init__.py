"""Where content lives, by sensitivity tier (docs/privacy.md, invariants 1-3).

The tier names are re-exported from :mod:`twin_assets.tiers`, the one home of the tier rules, for the many
modules and tests that import them from here; what ranks tiers or maps scopes to them lives only there.
"""

from twin_assets.tiers import HIGH, LOW, MEDIUM, TIERS

__all__ = ["HIGH", "LOW", "MEDIUM", "TIERS"]
