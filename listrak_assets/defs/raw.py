"""Raw assets: each table's inbox files as text, with the file and row of every record.

Each records the fingerprint of the files it read (`input_fingerprint`): the inbox sensor
seeds its cursor from it, and the archive moves only files that still match it. With
`inbox_archive` on, a table with no file in the inbox is unchanged, not empty: its raw asset
is not rebuilt, so nothing downstream of it runs. When the files and the settings that steer
reading them are those of the last materialization, the stored table is kept and the
materialization says "unchanged" (`defs/unchanged.py`).
"""

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import polars as pl

from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.defs.days import run_date, step_day
from listrak_assets.defs.keys import DEFAULT_RESOURCE_KEYS, Prefix, ResourceKeys, raw_key
from listrak_assets.defs.metadata import dtype_schema, frame_schema
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.defs.unchanged import (
    KEEP_STORED,
    carried,
    fingerprint_metadata,
    fingerprint_of,
    unchanged_since,
)
from listrak_assets.inbox import InputFileError, find_files, read_table
from listrak_assets.inbox.export_date import files_of_day
from listrak_assets.inbox.headers import header_label
from listrak_assets.inbox.snapshot import fingerprint, stat_files
from listrak_assets.inbox.upstream import raw_from_frame
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import TableSpec
from listrak_assets.settings import Settings, SettingsError

INPUT_FINGERPRINT = "input_fingerprint"

RAW_DESCRIPTIONS = {
    SOURCE_FILE: "input file the row came from",
    SOURCE_ROW: "record number in that file, 1 for the first row after the header",
    UPDATED_AT: "the updated_at column of the input, used to pick the newest duplicate",
}


def _raw_columns(spec: TableSpec) -> dict[str, pl.DataType]:
    return {
        SOURCE_FILE: pl.String(),
        SOURCE_ROW: pl.Int64(),
        **dict.fromkeys(spec.column_names, pl.String()),
        UPDATED_AT: pl.String(),
    }


def build_raw_asset(
    spec: TableSpec, partitions: dg.PartitionsDefinition | None = None
) -> dg.AssetsDefinition:
    """The table's raw asset; with `partitions` (days), each partition reads the files
    exported that day (undated files: the run's day)."""

    @dg.asset(
        key=raw_key(spec.name),
        group_name="raw",
        kinds={"polars", "parquet"},
        # Not emitted when the archive model finds no new file: downstream steps then skip.
        output_required=False,
        partitions_def=partitions,
        # The columns a raw table can have; a run reports the ones the files really had.
        metadata={"dagster/column_schema": dtype_schema(_raw_columns(spec), RAW_DESCRIPTIONS)},
        description=f"The {spec.name} files from the inbox, all columns as text, with "
        "`_source_file` and `_source_row` on every row.",
    )
    def _raw(
        context: dg.AssetExecutionContext, settings: ListrakSettings
    ) -> Iterator[dg.MaterializeResult]:
        try:
            conf = settings.load()
            paths = find_files(conf.inbox, spec.name)
            day = step_day(context) if partitions else None
            if day is not None:
                paths = files_of_day(paths, spec.name, day, run_date(context))
            if not paths and conf.inbox_archive:
                context.log.info(
                    f"no new {spec.name} file in {conf.inbox}: unchanged since the last run "
                    "that consumed one (inbox_archive is on); nothing downstream is rebuilt"
                )
                return
            consumed = fingerprint(stat_files(paths))
            key, parts = _raw_inputs(spec, conf, consumed, day)
            same = unchanged_since(context, [raw_key(spec.name)], key)
            if same:
                yield dg.MaterializeResult(
                    value=KEEP_STORED,
                    metadata={**carried(context, same[0]), **fingerprint_metadata(key, parts)},
                    data_version=dg.DataVersion(key),
                )
                return
            table = read_table(
                spec,
                paths,
                mapping=conf.columns.get(spec.name, {}),
                updated_at=conf.updated_at_column,
                encoding=conf.encoding,
                delimiter=conf.delimiter,
                restrict_pii=conf.restrict_pii,
            )
        except (InputFileError, SettingsError) as err:
            # The message names the file, line and column; a stack trace would add nothing.
            raise dg.Failure(description=str(err), allow_retries=False) from None
        if not paths:
            context.log.warning(f"no {spec.name} files in {conf.inbox}: the table is empty")
        # Header names are quoted as messages quote them: masked where they look personal.
        ignored = {
            f.name: [header_label(h, conf.restrict_pii) for h in f.ignored]
            for f in table.files
            if f.ignored
        }
        if ignored:
            context.log.warning(f"columns Listrak has no place for were left out: {ignored}")
        yield dg.MaterializeResult(
            value=table.frame,
            metadata={
                "dagster/row_count": table.frame.height,
                "dagster/column_schema": frame_schema(table.frame),
                "files": dg.MetadataValue.json(
                    [{"name": f.name, "rows": f.rows, "bytes": f.bytes} for f in table.files]
                ),
                "ignored_columns": dg.MetadataValue.json(ignored),
                "inbox": dg.MetadataValue.path(str(conf.inbox)),
                INPUT_FINGERPRINT: consumed,
                **fingerprint_metadata(key, parts),
                # The newest export's time: what the freshness check measures, so a rebuild
                # from the same old files does not look like new data.
                **(
                    {"dagster/last_updated_timestamp": dg.MetadataValue.timestamp(newest)}
                    if (newest := max((p.stat().st_mtime for p in paths), default=None))
                    else {}
                ),
            },
            data_version=dg.DataVersion(key),
        )

    return _raw


def _raw_inputs(
    spec: TableSpec, conf: Settings, consumed: str, day: dt.date | None
) -> tuple[str, dict[str, object]]:
    """What a raw table depends on: its files, the settings that steer reading them, and the
    day of a table kept by day (two days with no file are two tables)."""
    return fingerprint_of(
        {
            "table": spec.name,
            **({"day": day.isoformat()} if day else {}),
            "inbox": str(conf.inbox),
            "files": consumed,
            "columns": conf.columns.get(spec.name, {}),
            "updated_at": conf.updated_at_column,
            "encoding": conf.encoding,
            "delimiter": conf.delimiter,
            "restrict_pii": conf.restrict_pii,
        }
    )


RAW_ASSETS = [build_raw_asset(spec) for spec in TABLES.values()]


def build_upstream_raw_asset(
    spec: TableSpec,
    upstream: dg.AssetKey,
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    mapping: Mapping[str, str] | None = None,
    prefix: Prefix = (),
) -> dg.AssetsDefinition:
    """The raw table taken from another asset's value instead of the inbox: a polars, pandas
    or Arrow table with Listrak's column names, or names `mapping` (upstream column ->
    Listrak column, else listrak.yaml's `columns:`) turns into them."""
    source = upstream.to_user_string()

    @dg.asset(
        key=raw_key(spec.name, prefix),
        group_name="raw",
        kinds={"polars", "parquet"},
        ins={"upstream": dg.AssetIn(key=upstream)},
        io_manager_key=keys.io_manager,
        required_resource_keys={keys.settings},
        metadata={"dagster/column_schema": dtype_schema(_raw_columns(spec), RAW_DESCRIPTIONS)},
        description=f"The {spec.name} table from `{source}`, all columns as text, with "
        "`_source_file` and `_source_row` on every row (the upstream key and row number "
        "when it has none).",
    )
    def _raw(context: dg.AssetExecutionContext, upstream: Any) -> dg.MaterializeResult:
        settings: ListrakSettings = getattr(context.resources, keys.settings)
        try:
            conf = settings.load()
            table = raw_from_frame(
                spec,
                upstream,
                source,
                mapping=mapping if mapping is not None else conf.columns.get(spec.name, {}),
                updated_at=conf.updated_at_column,
                restrict_pii=conf.restrict_pii,
            )
        except (InputFileError, SettingsError, TypeError) as err:
            raise dg.Failure(description=str(err), allow_retries=False) from None
        ignored = [header_label(h, conf.restrict_pii) for h in table.files[0].ignored]
        if ignored:
            context.log.warning(f"columns Listrak has no place for were left out: {ignored}")
        return dg.MaterializeResult(
            value=table.frame,
            metadata={
                "dagster/row_count": table.frame.height,
                "dagster/column_schema": frame_schema(table.frame),
                "upstream": source,
                "ignored_columns": dg.MetadataValue.json(ignored),
            },
        )

    return _raw
