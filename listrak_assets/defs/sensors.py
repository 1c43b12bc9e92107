"""The inbox sensor: a run for the tables whose files landed in or changed in the inbox, once
they have settled.

A tick requests one run for everything that changed: each changed table's raw and clean
assets and what lies downstream of them (rejects, sinks, the checks on them), so a new orders
file sends the order file and never republishes an audience. The run key is the fingerprint
of the changed files: one file set starts one run, even when two ticks see it.

Only new or changed files count: a file that disappears starts nothing (a missing export is
not news to publish). And a file starts nothing until it has stopped changing: its mtime is
older than `inbox_settle_seconds`, so an export copied file by file, or one still being
written, is not read half way. A file already that old is ready at first sight.

With orders kept by day (`orders_by_day`), a tick requests a run per export day of the new
orders and order item files (`orders_2026-12-01.csv` is the 1st's; an undated file is
today's), each naming its day; the other changed tables go with the newest day's run.

Without a cursor (a new instance, a reset sensor, the first start of the UI after `make
demo`) the cursor is seeded from the instance: a table whose files have the fingerprint that
the raw asset recorded in the last successful run that built it is unchanged, and starts no
run. A table kept by day is compared day by day with what each day's partition last read, so
a day already built is not requested again (undated files are today's: they count as read
once today's partition has read them). Nothing is published by starting Dagster alone.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import dagster as dg

from listrak_assets.defs.days import DAILY_TABLES, FIRST_DAY
from listrak_assets.defs.jobs import chains, checks_of, refresh_job
from listrak_assets.defs.keys import raw_key
from listrak_assets.defs.raw import INPUT_FINGERPRINT
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.inbox.errors import InputFileError
from listrak_assets.inbox.export_date import export_date
from listrak_assets.inbox.snapshot import Snapshot, fingerprint, inbox_files, table_files
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.forget import FORGET

__all__ = ["fingerprint", "inbox_files", "inbox_sensor", "last_consumed"]

# How many of a raw asset's latest materializations are searched for one of a successful run.
LOOKBACK = 20
TABLES_TAG = "listrak/tables"


def _encode(files: Snapshot) -> str:
    return json.dumps({name: list(stat) for name, stat in sorted(files.items())})


def _decode(cursor: str, inbox: Snapshot) -> Snapshot:
    """The files a cursor had seen. An older cursor was the fingerprint of the whole inbox:
    it still says whether the inbox is as it was."""
    try:
        data = json.loads(cursor)
    except ValueError:
        return dict(inbox) if cursor == fingerprint(inbox) else {}
    if not isinstance(data, dict):
        return {}
    return {str(name): (int(stat[0]), int(stat[1])) for name, stat in data.items()}


def last_consumed(instance: dg.DagsterInstance, table: str, day: str | None = None) -> str | None:
    """The input fingerprint recorded by the newest materialization of the table's raw asset
    (of its partition `day`, for a table kept by day) in a run that succeeded; None when there
    is none."""
    key = raw_key(table)
    records_filter = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]) if day else key
    result = instance.fetch_materializations(records_filter, limit=LOOKBACK)
    for record in result.records:
        run = instance.get_run_by_id(record.run_id)
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
            continue
        materialization = record.asset_materialization
        value = materialization.metadata.get(INPUT_FINGERPRINT) if materialization else None
        return str(value.value) if value is not None else None
    return None


def _day_of(name: str, table: str, today: dt.date) -> dt.date:
    """The export day of a file of a table kept by day: its date, else today (undated, or a
    date that is no calendar day: its run fails naming it)."""
    try:
        return export_date(name, table) or today
    except InputFileError:
        return today


def _seed(
    instance: dg.DagsterInstance, by_table: dict[str, Snapshot], daily: list[str]
) -> Snapshot:
    """The files the last successful runs already consumed, as a cursor would hold them. A
    table kept by day (`daily`) is compared day by day, each day's files with what its own
    partition last read: a run reads one day's files only."""
    today = dt.datetime.now(dt.UTC).date()
    seen: Snapshot = {}
    for table, files in by_table.items():
        if table not in daily:
            if files and last_consumed(instance, table) == fingerprint(files):
                seen.update(files)
            continue
        days: dict[dt.date, Snapshot] = {}
        for name, stat in files.items():
            days.setdefault(_day_of(name, table, today), {})[name] = stat
        for day, day_files in days.items():
            if last_consumed(instance, table, day.isoformat()) == fingerprint(day_files):
                seen.update(day_files)
    return seen


def _tables(context: dg.SensorEvaluationContext) -> list[str]:
    """The tables the definitions build (a channel switched off has no audience table), and
    the erasure input."""
    watched = [*TABLES, FORGET.name]
    repo = context.repository_def
    if repo is None:
        return watched
    keys = repo.asset_graph.get_all_asset_keys()
    return [t for t in watched if raw_key(t) in keys]


def _request(
    context: dg.SensorEvaluationContext,
    tables: list[str],
    files: Snapshot,
    partition_key: str | None = None,
) -> dg.RunRequest:
    """One run for the chains of `tables`, keyed by the files that changed (and the day, for
    a run of tables kept by day)."""
    run_key = f"inbox-{fingerprint(files)}"
    if partition_key is not None:
        run_key = f"inbox-{partition_key}-{fingerprint(files)}"
    tags = {TABLES_TAG: ",".join(tables)}
    repo = context.repository_def
    if repo is None:  # evaluated without definitions: the job as a whole
        return dg.RunRequest(run_key=run_key, tags=tags, partition_key=partition_key)
    selection = chains(tables)

    def built(key: dg.AssetKey) -> bool:
        return context.instance.get_latest_materialization_event(key) is not None

    return dg.RunRequest(
        run_key=run_key,
        asset_selection=sorted(selection.resolve(repo.asset_graph)),
        asset_check_keys=sorted(checks_of(selection, repo.asset_graph, built)),
        tags=tags,
        partition_key=partition_key,
    )


@dg.sensor(
    job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, settings: ListrakSettings
) -> dg.SkipReason | dg.SensorResult:
    """Build and publish the tables whose files landed in or changed in the inbox, once they
    have settled."""
    conf = settings.load()
    by_table = table_files(conf.inbox, _tables(context))
    files = {name: stat for table in by_table.values() for name, stat in table.items()}
    if context.cursor:
        seen = _decode(context.cursor, inbox_files(conf.inbox))
    else:
        seen = _seed(context.instance, by_table, _kept_by_day(context))
    changed = sorted(name for name, stat in files.items() if seen.get(name) != stat)
    gone = sorted(set(seen) - set(files))
    if not changed:
        if not files:
            others = sorted(set(inbox_files(conf.inbox)) - set(files))
            reason = f"no input files in {conf.inbox}"
            if others:
                reason += f" for the tables built here ({', '.join(others)} ignored)"
        else:
            reason = "no new or changed file in the inbox since the last run"
        if gone:
            reason += f" ({', '.join(gone)} left it; a file that disappears starts no run)"
        # Forget the files that left, so one that comes back counts as new.
        return dg.SensorResult(skip_reason=reason, cursor=_encode(files))
    now_ns = time.time_ns()
    settle_ns = int(conf.inbox_settle_seconds * 1e9)
    settling = [name for name in changed if now_ns - files[name][1] < settle_ns]
    if settling:
        # The cursor stays: these files are still new at the next tick.
        return dg.SkipReason(
            f"waiting for {', '.join(settling)} to stop changing (modified less than "
            f"inbox_settle_seconds = {conf.inbox_settle_seconds:g} s ago)"
        )
    tables = [t for t, table in by_table.items() if any(name in table for name in changed)]
    context.log.info(f"new or changed in the inbox: {', '.join(changed)} ({', '.join(tables)})")
    new = {name: files[name] for name in changed}
    days = _by_day(context, by_table, new)
    # Tables kept by day: a run per export day. The tables kept whole go with the newest day.
    kept_by_day = _kept_by_day(context)
    whole = [t for t in tables if t not in kept_by_day]
    if not days:
        if not whole:  # only files dated outside the days kept: nothing a run could read
            return dg.SensorResult(
                skip_reason=f"no file of a day kept among {', '.join(changed)}",
                cursor=_encode(files),
            )
        return dg.SensorResult(run_requests=[_request(context, whole, new)], cursor=_encode(files))
    daily = {name for _, day_files in days.values() for name in day_files}
    rest = {n: s for n, s in new.items() if n not in daily}
    newest = max(days)
    requests = [
        _request(
            context,
            sorted(days[day][0]) + (whole if day == newest else []),
            {**days[day][1], **(rest if day == newest else {})},
            partition_key=day.isoformat(),
        )
        for day in sorted(days)
    ]
    return dg.SensorResult(run_requests=requests, cursor=_encode(files))


def _kept_by_day(context: dg.SensorEvaluationContext) -> list[str]:
    """The tables the definitions keep by day (`orders_by_day`)."""
    repo = context.repository_def
    if repo is None:
        return []
    graph = repo.asset_graph
    return [
        t
        for t in DAILY_TABLES
        if graph.has(raw_key(t)) and graph.get(raw_key(t)).partitions_def is not None
    ]


def _by_day(
    context: dg.SensorEvaluationContext, by_table: dict[str, Snapshot], new: Snapshot
) -> dict[dt.date, tuple[set[str], Snapshot]]:
    """The export days of the new files of the tables kept by day: each day's tables and
    files. An undated file (or one whose date is no calendar day: its run fails naming it)
    is today's."""
    today = dt.datetime.now(dt.UTC).date()
    days: dict[dt.date, tuple[set[str], Snapshot]] = {}
    for table in _kept_by_day(context):
        for name, stat in by_table.get(table, {}).items():
            if name in new:
                day = _day_of(name, table, today)
                if not FIRST_DAY <= day.isoformat() <= today.isoformat():
                    context.log.warning(
                        f"{name} is dated {day}, outside the days kept ({FIRST_DAY} to "
                        "today): not read"
                    )
                    continue
                tables, day_files = days.setdefault(day, (set(), {}))
                tables.add(table)
                day_files[name] = stat
    return days
