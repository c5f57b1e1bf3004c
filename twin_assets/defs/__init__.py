"""Dagster definitions, one module per area (sources, index, processing, insights, sensors) beside the shared
resources and partitions; ``twin_assets.definitions`` loads every module here, as a `dg` defs folder."""
