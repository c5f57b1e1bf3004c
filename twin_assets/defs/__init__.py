"""Dagster definitions, one folder per area (sources, index, processing, insights) beside the shared
automation sensor, resources and partitions; ``twin_assets.definitions`` loads everything here as a `dg` defs
folder."""
