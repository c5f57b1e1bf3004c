"""The Dagster code location (``workspace.yaml`` loads this module).

Importing it opens no home and loads no model until an asset runs. It does check the settings: a bad
``TWIN_*`` value ends the process with one line on stderr and exit status 2, instead of a traceback in the
code server or a failure in some asset later.
"""
# ruff: noqa: E402  (the settings are checked before the imports: building the connectors reads them)

from twin_assets.settings import settings_or_exit

settings_or_exit()

import warnings
from pathlib import Path

from dagster import ComponentTree, Definitions, PreviewWarning

import twin_assets.defs as areas
from twin_assets.defs.console import one_line_console
from twin_assets.defs.resources import RefuseValuesIOManager, TwinResource


def _load_areas() -> Definitions:
    """Every area folder under defs/ (sources, index, processing, insights) and the shared automation, loaded the
    way a `dg` project loads its defs folder, so an asset, check, sensor or schedule is listed only where it is
    defined.
    This is the tree ``load_from_defs_folder`` builds once it has found the project's pyproject.toml, which an
    installed wheel lacks; like that function, it keeps the loader's preview warnings off the console."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return ComponentTree.from_module(defs_module=areas, project_root=Path(areas.__file__).parents[2]).build_defs()


defs = Definitions.merge(
    _load_areas(),
    Definitions(
        resources={"twin": TwinResource(), "io_manager": RefuseValuesIOManager()},
        # Every job's console: one line per event, never a stack trace (twin_assets.defs.console says why).
        loggers={"console": one_line_console},
    ),
)
