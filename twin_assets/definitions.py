"""The Dagster code location (``workspace.yaml`` loads this module).

Importing it opens no home and loads no model until an asset runs. It does check the settings: a bad
``TWIN_*`` value ends the process with one line on stderr and exit status 2, instead of a traceback in the
code server or a failure in some asset later.
"""
# ruff: noqa: E402  (the settings are checked before the imports: building the connectors reads them)

from twin_assets.settings import settings_or_exit

settings_or_exit()

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
