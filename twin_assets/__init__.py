"""Digital Twin: connectors, processing, privacy-first stores and the Dagster code location."""

from twin_assets import telemetry as _telemetry

_telemetry.switch_off()  # first, before any module of ours imports a library that reads these switches

__version__ = "0.1.0"
