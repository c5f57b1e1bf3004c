"""Sensitivity tiers as Dagster partitions: each tier's partition writes only to that tier's stores."""

from dagster import StaticPartitionsDefinition

from twin_assets.stores import TIERS

tier_partitions = StaticPartitionsDefinition(list(TIERS))
