"""The Definitions object that `dagster dev`, `dagster asset materialize` and the tests load."""

import dagster as dg

from listrak_assets.defs.checks import REFERENTIAL_CHECKS
from listrak_assets.defs.clean import CLEAN_ASSETS
from listrak_assets.defs.jobs import refresh_job
from listrak_assets.defs.raw import RAW_ASSETS
from listrak_assets.defs.resources import ListrakSettings, ParquetIOManager
from listrak_assets.defs.sensors import inbox_sensor

settings = ListrakSettings()

defs = dg.Definitions(
    assets=[*RAW_ASSETS, *CLEAN_ASSETS],
    asset_checks=REFERENTIAL_CHECKS,
    jobs=[refresh_job],
    sensors=[inbox_sensor],
    resources={"settings": settings, "io_manager": ParquetIOManager(settings=settings)},
    # One process per run: the steps are short and polars already uses every core, so a
    # process per step (the default) costs more than it saves.
    executor=dg.in_process_executor,
)
