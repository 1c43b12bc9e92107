"""Inbox bookkeeping after a successful run, when `inbox_archive` is on: the files the run
consumed move to `<archive>/<YYYY-MM-DD>/` (the day the run started, UTC).

A run-status sensor rather than a step of the run: a move belongs after the whole run has
succeeded (a failed sink leaves its input in the inbox for the re-run), and it needs no asset
of its own. Which files a run consumed is read from its raw materializations' recorded input
fingerprints (and, for a table kept by day, its partition: the run read that day's files
only); a table whose files changed since stays in the inbox.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from listrak_assets.defs.days import run_day
from listrak_assets.defs.raw import INPUT_FINGERPRINT
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.inbox.archive import Consumed, archive_consumed, day_folder
from listrak_assets.storage import text


def consumed_inputs(instance: dg.DagsterInstance, run_id: str) -> dict[str, Consumed]:
    """Table -> what each raw asset of the run read: its files' fingerprint, and the day of a
    partition (a table kept by day reads that day's files only)."""
    result = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    consumed: dict[str, Consumed] = {}
    for record in result.records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None or materialization.asset_key.path[0] != "raw":
            continue
        value = materialization.metadata.get(INPUT_FINGERPRINT)
        if value is not None:
            partition = materialization.partition
            consumed[materialization.asset_key.path[-1]] = Consumed(
                str(value.value), dt.date.fromisoformat(partition) if partition else None
            )
    return consumed


@dg.run_status_sensor(
    name="inbox_archive",
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="With inbox_archive on, moves the input files a successful run consumed to "
    "the archive folder, under the day the run started.",
)
def inbox_archive_sensor(
    context: dg.RunStatusSensorContext, settings: ListrakSettings
) -> dg.SkipReason | None:
    conf = settings.load()
    if not conf.inbox_archive:
        return dg.SkipReason("inbox_archive is off: the inbox holds the current state")
    run_id = context.dagster_run.run_id
    consumed = consumed_inputs(context.instance, run_id)
    if not consumed:
        return dg.SkipReason(f"run {run_id} read no inbox file")
    day = run_day(context.instance, run_id)
    done = archive_consumed(conf.inbox, conf.archive, day, consumed)
    if done.moved:
        context.log.info(
            f"archived after run {run_id}: {', '.join(sorted(done.moved))} -> "
            f"{text(day_folder(conf.archive, day))}"
        )
    for table, why in sorted(done.kept.items()):
        context.log.info(f"{table} stays in the inbox: {why}")
    return None
