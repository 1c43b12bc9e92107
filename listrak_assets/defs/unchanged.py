"""Unchanged re-runs: an asset whose inputs match its last materialization returns at once.

`dagster asset materialize` always executes what it selects, so each asset decides for
itself. It fingerprints what its result depends on (`fingerprints.py`) and compares it with
the fingerprint its latest materialization recorded; when they match, and the table that
materialization stored is still the file it wrote, the asset records a materialization that
says so ("unchanged") and carries the last one's metadata, so freshness stays green and the
UI says why nothing happened. The run tag `listrak/force=true` re-does everything.

Each instance keeps its materializations in its own event log, so the Parquet IO manager also
records in the stored file itself what it was built from (`record`: the fingerprint, the run,
a few counts; no values). When the instance's own record does not match, a stored table whose
record does is kept too: a second instance (machine) sharing the warehouse does not rebuild
what the first built. A rewrite that is not a build (erasure, retention) drops that record.

A stored table is fingerprinted by its file's size and modification time, so anything that
rewrites it (a run, a local erasure) makes everything downstream of it re-done.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import dagster as dg
import polars as pl

from listrak_assets.fingerprints import code_version, digest, file_stat
from listrak_assets.storage import Location, location, read_parquet_metadata
from listrak_assets.stored_tables import BUILT_FROM

FINGERPRINT = "listrak/fingerprint"
FINGERPRINT_INPUTS = "listrak/fingerprint_inputs"
UNCHANGED = "unchanged"
FORCE_TAG = "listrak/force"
# What the Parquet IO manager records about the file it stored.
PATH = "path"
STORED = "stored_file"
_IO_MANAGER_KEYS = (PATH, STORED, "dagster/uri")
# Set on a materialization found unchanged by the record in the stored table itself.
UNCHANGED_FROM = "unchanged_from"
FROM_STORED_TABLE = "stored table"
# What a stored table's record keeps of its materialization's metadata: fingerprints, times
# and counts, never values (the previews stay in the event log). `input_fingerprint` seeds the
# inbox sensor and guards the archive; `check_results` are the clean table's checks.
RECORDED = (
    "dagster/row_count",
    "dagster/last_updated_timestamp",
    "input_fingerprint",
    "files",
    "rejected_rows",
    "merged_duplicates",
    "rejects_by_reason",
    "blanked_values",
    "blanked_by_column",
    "check_results",
)
_KINDS: dict[type, tuple[str, Callable[[Any], dg.MetadataValue]]] = {
    dg.IntMetadataValue: ("int", dg.MetadataValue.int),
    dg.FloatMetadataValue: ("float", dg.MetadataValue.float),
    dg.BoolMetadataValue: ("bool", dg.MetadataValue.bool),
    dg.TextMetadataValue: ("text", dg.MetadataValue.text),
    dg.JsonMetadataValue: ("json", dg.MetadataValue.json),
    dg.TimestampMetadataValue: ("timestamp", dg.MetadataValue.timestamp),
}
_MAKERS = dict(_KINDS.values())


class _Stored:
    """The value of an output that is unchanged: the IO manager keeps the stored table."""

    def __repr__(self) -> str:
        return "KEEP_STORED"


KEEP_STORED: Final = _Stored()


def forced(context: dg.AssetExecutionContext) -> bool:
    """True when the run was asked to re-do everything (`listrak/force=true`)."""
    return context.run.tags.get(FORCE_TAG, "").lower() in ("true", "1", "yes")


@runtime_checkable
class TableStore(Protocol):
    """An IO manager that stores each table as one Parquet file and can say where."""

    def stored_table(self, key: dg.AssetKey, day: str | None = None) -> Location: ...


@dataclass(frozen=True)
class Last:
    """An asset's latest materialization and the run that recorded it; or, `from_stored`, what
    the stored table's own record says of the run that built it."""

    materialization: dg.AssetMaterialization
    run_id: str
    from_stored: bool = False

    def value(self, name: str) -> Any:
        entry = self.materialization.metadata.get(name)
        return entry.value if entry is not None else None


# One lookup per step: the step's own assets and those it reads, fetched together the first
# time the step asks (each lookup is a query of the instance's event log, about as costly as
# the rest of an unchanged step). Nothing a step looks up is materialized while it runs
# before it asks, so the answers hold for the step; the next step fetches again.
_step_view: dict[tuple[str, str, int], Mapping[dg.AssetKey, dg.EventLogEntry | None]] = {}


def _day_of(context: dg.AssetExecutionContext, key: dg.AssetKey) -> str | None:
    """The partition (day) of `key` this step reads or writes: the step's own when the asset
    is kept by day (`defs/days.py`, days map one to one), None for a table kept whole."""
    if not context.has_partition_key:
        return None
    layer = context.job_def.asset_layer
    if not layer.has(key) or layer.get(key).partitions_def is None:
        return None
    return str(context.partition_key)


def _looked_up(context: dg.AssetExecutionContext, key: dg.AssetKey) -> dg.EventLogEntry | None:
    day = _day_of(context, key)
    if day is not None:
        # A day's last materialization, not another day's: each day has its own inputs.
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
        ).records
        return records[0].event_log_entry if records else None
    step = (context.run.run_id, context.op_def.name, context.retry_number)
    view = _step_view.get(step)
    if view is None:
        keys = {*context.assets_def.keys, *context.assets_def.dependency_keys}
        view = context.instance.get_latest_materialization_events(keys)
        _step_view.clear()  # steps of a process run one after another: keep the current one
        _step_view[step] = view
    if key in view:
        return view[key]
    found: dg.EventLogEntry | None = context.instance.get_latest_materialization_event(key)
    return found


def latest(context: dg.AssetExecutionContext, key: dg.AssetKey) -> Last | None:
    """The asset's latest materialization (in this run, when it was built before this step);
    for a table kept by day, that of the step's day."""
    event = _looked_up(context, key)
    if event is None or event.asset_materialization is None:
        return None
    return Last(event.asset_materialization, event.run_id)


def stored_stat(context: dg.AssetExecutionContext, key: dg.AssetKey) -> str | None:
    """The size and modification time of the table the asset's latest materialization stored,
    as it is now; without one on this instance, of the file its IO manager stores it in (a
    table another instance sharing the warehouse built). None when unknown (another IO
    manager) or gone."""
    last = latest(context, key)
    path = last.value(PATH) if last else None
    if path:
        return file_stat(location(path))
    store = _store(context, key)
    return file_stat(store.stored_table(key, _day_of(context, key))) if store else None


def fingerprint_of(parts: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    """The fingerprint of a step's inputs `parts` and the code version, and what went in."""
    full = {**parts, "code_version": code_version()}
    return digest(full), full


def today() -> str:
    """The day, for the steps whose rules depend on it (date ranges, two-digit years)."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def record(metadata: Mapping[str, Any], run_id: str) -> dict[str, str]:
    """The key-value metadata a stored table is written with: what it was built from (the
    output's fingerprint), by which run, and the `RECORDED` entries of its metadata. Nothing
    for an output without a fingerprint: such a table is always rebuilt."""
    fingerprint = metadata.get(FINGERPRINT)
    if isinstance(fingerprint, dg.MetadataValue):
        fingerprint = fingerprint.value
    if not isinstance(fingerprint, str):
        return {}
    kept = {}
    for name in RECORDED:
        entry = metadata.get(name)
        kind = _KINDS.get(type(entry))
        if entry is not None and kind is not None:
            kept[name] = [kind[0], entry.value]
    built = {"fingerprint": fingerprint, "run_id": run_id, "metadata": kept}
    return {BUILT_FROM: json.dumps(built, separators=(",", ":"))}


def _store(context: dg.AssetExecutionContext, key: dg.AssetKey) -> TableStore | None:
    """The IO manager that stores `key` (the step's own or one it reads), when it keeps a
    Parquet file this step can read."""
    layer = context.job_def.asset_layer
    if not layer.has(key):
        return None
    store = getattr(context.resources, layer.get(key).io_manager_key, None)
    return store if isinstance(store, TableStore) else None


def stored_record(context: dg.AssetExecutionContext, key: dg.AssetKey) -> Last | None:
    """What the stored table of `key` (of the step's day) records it was built from, as the
    materialization of the run that built it; None without a table or a record."""
    store = _store(context, key)
    if store is None:
        return None
    try:
        text = read_parquet_metadata(store.stored_table(key, _day_of(context, key))).get(BUILT_FROM)
    except (OSError, pl.exceptions.PolarsError):
        return None  # no table there (or not one polars can read): build it
    if not text:
        return None  # written with no record (by older code, erasure or retention)
    try:
        built = json.loads(text)
        metadata = {name: _MAKERS[kind](value) for name, (kind, value) in built["metadata"].items()}
        metadata[FINGERPRINT] = dg.MetadataValue.text(built["fingerprint"])
        run_id = str(built["run_id"])
    except (TypeError, ValueError, KeyError):
        return None  # not a record this code wrote: build it
    return Last(dg.AssetMaterialization(asset_key=key, metadata=metadata), run_id, True)


def _own(context: dg.AssetExecutionContext, key: dg.AssetKey, fingerprint: str) -> Last | None:
    """The instance's latest materialization of `key` when it recorded `fingerprint` and the
    table it stored is still as written."""
    last = latest(context, key)
    if last is None or last.value(FINGERPRINT) != fingerprint:
        return None
    path, stored = last.value(PATH), last.value(STORED)
    if path is not None and (stored is None or file_stat(location(path)) != stored):
        return None  # the table was removed or rewritten since: build it again
    return last


def unchanged_since(
    context: dg.AssetExecutionContext, keys: list[dg.AssetKey], fingerprint: str
) -> list[Last] | None:
    """For each of `keys`, the latest materialization when it recorded `fingerprint` and the
    table it stored is still as written, or else the stored table's own record when that says
    it was built from `fingerprint` (another instance built it); None when anything differs,
    or the run is forced."""
    if forced(context):
        return None
    found = []
    for key in keys:
        last = _own(context, key, fingerprint)
        if last is None:
            last = stored_record(context, key)
            if last is None or last.value(FINGERPRINT) != fingerprint:
                return None
        found.append(last)
    return found


def fingerprint_metadata(fingerprint: str, parts: Mapping[str, object]) -> dict[str, Any]:
    """What every fingerprinted materialization records."""
    return {
        FINGERPRINT: fingerprint,
        FINGERPRINT_INPUTS: dg.MetadataValue.json(dict(parts)),
    }


SAME_INPUTS = "same inputs, settings and code version as run"
SAME_AS_STORED = "the stored table records the same inputs, settings and code version, from run"


def carried(
    context: dg.AssetExecutionContext, last: Last, why: str = SAME_INPUTS
) -> dict[str, Any]:
    """The last materialization's metadata, marked unchanged (the IO manager adds its own)."""
    if last.from_stored:
        why = SAME_AS_STORED
    note = (
        f"unchanged, 0 sent: {why} {last.run_id[:8]}; nothing was re-done (a run tagged "
        f"{FORCE_TAG}=true re-does it)"
    )
    metadata: dict[str, Any] = {
        k: v
        for k, v in last.materialization.metadata.items()
        if k not in (*_IO_MANAGER_KEYS, UNCHANGED, UNCHANGED_FROM)
    }
    if last.from_stored:
        metadata[UNCHANGED_FROM] = dg.MetadataValue.text(FROM_STORED_TABLE)
    # The note is in the materialization, which the run's log shows: no log line of its own
    # (each is an event written to the instance, a real share of an unchanged run's time).
    metadata[UNCHANGED] = dg.MetadataValue.text(note)
    return metadata
