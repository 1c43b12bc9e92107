"""Unchanged re-runs: an asset whose inputs match its last materialization returns at once.

`dagster asset materialize` always executes what it selects, so each asset decides for
itself. It fingerprints what its result depends on (`fingerprints.py`) and compares it with
the fingerprint its latest materialization recorded; when they match, and the table that
materialization stored is still the file it wrote, the asset records a materialization that
says so ("unchanged") and carries the last one's metadata, so freshness stays green and the
UI says why nothing happened. The run tag `listrak/force=true` re-does everything.

A stored table is fingerprinted by its file's size and modification time, so anything that
rewrites it (a run, a local erasure) makes everything downstream of it re-done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import dagster as dg

from listrak_assets.fingerprints import code_version, digest, file_stat

FINGERPRINT = "listrak/fingerprint"
FINGERPRINT_INPUTS = "listrak/fingerprint_inputs"
UNCHANGED = "unchanged"
FORCE_TAG = "listrak/force"
# What the Parquet IO manager records about the file it stored.
PATH = "path"
STORED = "stored_file"
_IO_MANAGER_KEYS = (PATH, STORED, "dagster/uri")


class _Stored:
    """The value of an output that is unchanged: the IO manager keeps the stored table."""

    def __repr__(self) -> str:
        return "KEEP_STORED"


KEEP_STORED: Final = _Stored()


def forced(context: dg.AssetExecutionContext) -> bool:
    """True when the run was asked to re-do everything (`listrak/force=true`)."""
    return context.run.tags.get(FORCE_TAG, "").lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Last:
    """An asset's latest materialization and the run that recorded it."""

    materialization: dg.AssetMaterialization
    run_id: str

    def value(self, name: str) -> Any:
        entry = self.materialization.metadata.get(name)
        return entry.value if entry is not None else None


def latest(context: dg.AssetExecutionContext, key: dg.AssetKey) -> Last | None:
    """The asset's latest materialization (in this run, when it was built before this step)."""
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return Last(event.asset_materialization, event.run_id)


def stored_stat(context: dg.AssetExecutionContext, key: dg.AssetKey) -> str | None:
    """The size and modification time of the table the asset's latest materialization stored,
    as it is now: None when unknown (another IO manager) or gone."""
    last = latest(context, key)
    path = last.value(PATH) if last else None
    return file_stat(Path(path)) if path else None


def fingerprint_of(parts: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    """The fingerprint of a step's inputs `parts` and the code version, and what went in."""
    full = {**parts, "code_version": code_version()}
    return digest(full), full


def today() -> str:
    """The day, for the steps whose rules depend on it (date ranges, two-digit years)."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def unchanged_since(
    context: dg.AssetExecutionContext, keys: list[dg.AssetKey], fingerprint: str
) -> list[Last] | None:
    """The latest materializations of `keys` when each recorded `fingerprint` and the table it
    stored is still as written; None when anything differs, or the run is forced."""
    if forced(context):
        return None
    found = []
    for key in keys:
        last = latest(context, key)
        if last is None or last.value(FINGERPRINT) != fingerprint:
            return None
        path, stored = last.value(PATH), last.value(STORED)
        if path is not None and (stored is None or file_stat(Path(path)) != stored):
            return None  # the table was removed or rewritten since: build it again
        found.append(last)
    return found


def fingerprint_metadata(fingerprint: str, parts: Mapping[str, object]) -> dict[str, Any]:
    """What every fingerprinted materialization records."""
    return {
        FINGERPRINT: fingerprint,
        FINGERPRINT_INPUTS: dg.MetadataValue.json(dict(parts)),
    }


SAME_INPUTS = "same inputs, settings and code version as run"


def carried(
    context: dg.AssetExecutionContext, last: Last, why: str = SAME_INPUTS
) -> dict[str, Any]:
    """The last materialization's metadata, marked unchanged (the IO manager adds its own)."""
    note = (
        f"unchanged, 0 sent: {why} {last.run_id[:8]}; nothing was re-done (a run tagged "
        f"{FORCE_TAG}=true re-does it)"
    )
    metadata: dict[str, Any] = {
        k: v
        for k, v in last.materialization.metadata.items()
        if k not in (*_IO_MANAGER_KEYS, UNCHANGED)
    }
    metadata[UNCHANGED] = dg.MetadataValue.text(note)
    context.log.info(f"{context.op_def.name}: {note}")
    return metadata
