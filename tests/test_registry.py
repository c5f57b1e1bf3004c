from __future__ import annotations

from twin_assets.connectors.registry import broken_connectors, connectors

BUILT_IN = {"email", "calendar", "contacts", "notes", "ofx", "bank_csv", "slack", "whatsapp", "telegram"}


def test_every_builtin_connector_loads():
    assert broken_connectors() == {}
    assert set(connectors()) >= BUILT_IN
    for kind, c in connectors().items():
        assert c.kind == kind and c.description and c.record_kinds


def test_a_registry_is_its_entry_points_read_only():
    from importlib.metadata import EntryPoint

    import pytest

    from twin_assets.connectors.registry import ENTRY_POINT_GROUP, ConnectorRegistry, installed

    made = ConnectorRegistry.load(
        [
            EntryPoint("email", "twin_assets.connectors.email:EmailConnector", ENTRY_POINT_GROUP),
            EntryPoint("gone", "twin_no_such_module:Connector", ENTRY_POINT_GROUP),
            EntryPoint("odd", "twin_assets.connectors.registry:MAX_WALK_DEPTH", ENTRY_POINT_GROUP),
        ]
    )
    assert set(made.connectors) == {"email"}
    assert dict(made.broken) == {"gone": "failed to load: ModuleNotFoundError", "odd": "not a Connector subclass"}
    assert made.traits_for("calendar") is not installed().traits_for("calendar")  # calendar is not in this one
    with pytest.raises(TypeError):
        made.connectors["x"] = made.connectors["email"]  # type: ignore[index]
    assert installed() is installed() and "gone" not in broken_connectors()
