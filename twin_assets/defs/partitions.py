"""Sensitivity tiers as Dagster partitions: each tier's partition writes only to that tier's stores."""

from dagster import StaticPartitionsDefinition

from twin_assets.stores import TIERS

# Plain strings: Dagster serialises partition keys into run tags and refuses enum values.
tier_partitions = StaticPartitionsDefinition([str(tier) for tier in TIERS])
