"""Digital Twin: connectors, processing, privacy-first stores and the Dagster code location."""

__version__ = "0.1.0"
