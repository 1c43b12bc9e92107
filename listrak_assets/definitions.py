"""The Definitions object that `dagster dev`, `dagster asset materialize` and the tests load."""

import dagster as dg

from listrak_assets.defs.checks import REFERENTIAL_CHECKS
from listrak_assets.defs.clean import CLEAN_ASSETS
from listrak_assets.defs.email_sink import listrak_email_audience
from listrak_assets.defs.jobs import refresh_job
from listrak_assets.defs.raw import RAW_ASSETS
from listrak_assets.defs.resources import (
    ListrakEmailApi,
    ListrakSettings,
    ListrakSftp,
    ListrakSmsApi,
    ParquetIOManager,
)
from listrak_assets.defs.sensors import inbox_sensor
from listrak_assets.defs.sftp_sinks import FILE_SINKS
from listrak_assets.defs.sms_sink import listrak_sms_audience

settings = ListrakSettings()

defs = dg.Definitions(
    assets=[*RAW_ASSETS, *CLEAN_ASSETS, listrak_email_audience, listrak_sms_audience, *FILE_SINKS],
    asset_checks=REFERENTIAL_CHECKS,
    jobs=[refresh_job],
    sensors=[inbox_sensor],
    resources={
        "settings": settings,
        "io_manager": ParquetIOManager(settings=settings),
        # EnvVar for each LISTRAK_EMAIL_CLIENT_ID/_SECRET, LISTRAK_API_URL/_AUTH_URL that is
        # set; a missing credential fails only the email sink, naming the variable.
        "listrak_email": ListrakEmailApi.from_env(),
        # Likewise with LISTRAK_SMS_CLIENT_ID/_SECRET: the SMS integration's own token.
        "listrak_sms": ListrakSmsApi.from_env(),
        # EnvVar for each LISTRAK_SFTP_* variable that is set; a missing one fails only the
        # file sinks, naming the variable.
        "sftp": ListrakSftp.from_env(),
    },
    # One process per run: the steps are short and polars already uses every core, so a
    # process per step (the default) costs more than it saves.
    executor=dg.in_process_executor,
)
