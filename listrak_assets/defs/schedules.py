"""The nightly schedule: `publish_all` at `schedule.time` in `schedule.timezone`, when
`schedule.enabled` is true in listrak.yaml. Read when the definitions load (a change takes a
reload of the code location); off by default, so a new instance sends nothing on a clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from listrak_assets.settings import NightlySchedule, SettingsError, load_settings

NAME = "nightly_publish"


def nightly_from_settings(path: Path | None = None) -> NightlySchedule | None:
    """The schedule's settings when it is switched on. A file that can't be read switches
    nothing on: the steps that read it report the problem."""
    try:
        nightly = load_settings(path).schedule
    except SettingsError:
        return None
    return nightly if nightly.enabled else None


def nightly_schedule(
    nightly: NightlySchedule, job: dg.UnresolvedAssetJobDefinition, by_day: bool = False
) -> dg.ScheduleDefinition:
    """Runs `job` every day at the set time; running as soon as it is loaded, since the
    setting is the switch. With orders kept by day, each run is the partition of the day
    (UTC) it is scheduled for: a run must name its day (`defs/days.py`)."""
    description = (
        f"Publish every channel switched on at {nightly.time} ({nightly.timezone}) each day."
    )

    @dg.schedule(
        name=NAME,
        job=job,
        cron_schedule=nightly.cron,
        execution_timezone=nightly.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        if not by_day:
            return dg.RunRequest()
        day = context.scheduled_execution_time.astimezone(dt.UTC).date()
        return dg.RunRequest(partition_key=day.isoformat())

    return _nightly
