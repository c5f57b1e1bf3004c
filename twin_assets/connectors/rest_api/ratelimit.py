"""The REST connector's rate limit: the connectors' shared token bucket (``toolkit.ratelimit``)."""

from __future__ import annotations

from twin_assets.connectors.toolkit.ratelimit import TokenBucket

__all__ = ["TokenBucket"]
