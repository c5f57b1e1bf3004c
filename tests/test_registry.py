from __future__ import annotations

from twin_assets.connectors.registry import broken_connectors, connectors

BUILT_IN = {"email", "calendar", "contacts", "notes", "ofx", "bank_csv", "slack", "whatsapp", "telegram"}


def test_every_builtin_connector_loads():
    assert broken_connectors() == {}
    assert set(connectors()) >= BUILT_IN
    for kind, c in connectors().items():
        assert c.kind == kind and c.description and c.record_kinds
