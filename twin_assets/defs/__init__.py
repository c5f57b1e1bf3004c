"""Dagster definitions by area (sources, index, ...); ``twin_assets.definitions`` merges them."""
