"""Eager automation: each tier's partitioned assets are materialized after what they read changes."""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

automation_sensor = AutomationConditionSensorDefinition(
    "twin_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Materializes each tier's partitioned assets after their upstream documents change.",
)
