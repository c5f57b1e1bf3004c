"""What records made from webhook events are (the events arrive through ``POST /v1/webhooks/{sender}``).

Every sender's events become records of one source, named here; ``pipeline.webhooks`` makes them.
"""

from __future__ import annotations

from twin_assets.connectors.base import SourceTraits

WEBHOOK_SOURCE = "webhook"
WEBHOOK_TRAITS = SourceTraits(from_webhook_events=True)
