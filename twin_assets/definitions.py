"""The Dagster code location (``workspace.yaml`` loads this module).

Importing it has no side effects: no home is opened and no model is loaded
until an asset runs.
"""

from dagster import Definitions

from twin_assets.defs.index import documents, embeddings
from twin_assets.defs.insights import insights
from twin_assets.defs.processing import processing_assets, processing_checks
from twin_assets.defs.resources import RefuseValuesIOManager, TwinResource
from twin_assets.defs.sensors import api_schedule, automation_sensor, inbox_sensor, webhook_sensor
from twin_assets.defs.sources import source_assets

defs = Definitions(
    assets=[*source_assets, documents, embeddings, *processing_assets, insights],
    asset_checks=processing_checks,
    sensors=[inbox_sensor, webhook_sensor, automation_sensor],
    schedules=[api_schedule],
    resources={"twin": TwinResource(), "io_manager": RefuseValuesIOManager()},
)
