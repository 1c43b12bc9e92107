"""Days: the daily partitions of the tables kept by export date, and the day a run counts as.

With `orders_by_day: true` in listrak.yaml (read when the code location loads), orders and
order items are partitioned by the export date in their inbox files' names
(`inbox/export_date.py`); each partition makes that day's Listrak file. Undated files belong to
the day the run started (UTC). A run must name its day: Dagster can't run a partitioned step
from a partitioned input without one (`refresh` names today; `dagster asset materialize` asks
for `--partition`); the other tables, kept whole, run as before in a run that names a day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from listrak_assets.settings import SettingsError, load_settings

# The first day a dated export can name: the inbox sensor reads no file dated earlier (it
# says so in its log), and Dagster refuses such a partition. `end_offset=1` makes today a
# partition: undated files are today's exports.
FIRST_DAY = "2024-01-01"
EXPORT_DAYS = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1)
# The tables kept by day: Listrak upserts orders by number, so each day's file can stand alone.
DAILY_TABLES = frozenset({"orders", "order_items"})


def days_of(table: str) -> dg.DailyPartitionsDefinition | None:
    """The partitions of `table` in the inbox mode; None for a table kept whole."""
    return EXPORT_DAYS if table in DAILY_TABLES else None


def run_day(instance: dg.DagsterInstance, run_id: str) -> dt.date:
    """The day (UTC) the run started: every file of a run carries the same date, even when
    the run goes past midnight."""
    record = instance.get_run_record_by_id(run_id)
    started = record.create_timestamp if record else dt.datetime.now(dt.UTC)
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return started.astimezone(dt.UTC).date()


def run_date(context: dg.AssetExecutionContext) -> dt.date:
    """The day (UTC) this step's run started."""
    return run_day(context.instance, context.run.run_id)


def step_day(context: dg.AssetExecutionContext) -> dt.date:
    """The day this step makes: its partition's, else the run's (a table kept whole, in a
    run with a partition key, still makes the run's day)."""
    if context.assets_def.partitions_def is not None and context.has_partition_key:
        return dt.date.fromisoformat(context.partition_key)
    return run_date(context)


def by_day_from_settings(path: Path | None = None) -> bool:
    """`orders_by_day` in the settings file. A file that can't be read keeps orders whole:
    every step that reads it then fails with the message naming the problem."""
    try:
        return load_settings(path).orders_by_day
    except SettingsError:
        return False
