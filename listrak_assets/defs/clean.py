"""Clean assets: each table normalised, de-duplicated and validated, with its rejects.

The checks run inside the asset because they need the cleaning result itself (how many rows
were merged, what the final validation found); the two that protect Listrak are blocking.
When the stored raw table, the settings, the day and the erasure ledger are those of the last
run, nothing is cleaned: the stored tables stay, and the checks report that run's results.
"""

from collections.abc import Iterator
from dataclasses import replace

import dagster as dg
import polars as pl

from listrak_assets.cleaning.table import (
    REJECT_COLUMNS,
    REJECT_DESCRIPTIONS,
    ROW_REJECTED,
    CleanOptions,
    CleanResult,
    clean_table,
    extra_columns,
)
from listrak_assets.defs.days import step_day
from listrak_assets.defs.keys import (
    DEFAULT_RESOURCE_KEYS,
    SUPPRESSION_KEY,
    Prefix,
    ResourceKeys,
    clean_key,
    op_name,
    prefixed,
    raw_key,
    rejects_key,
)
from listrak_assets.defs.local_copies import ledger_path
from listrak_assets.defs.metadata import column_lineage, column_schema, dtype_schema, preview
from listrak_assets.defs.resources import ListrakErasure
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.defs.unchanged import (
    KEEP_STORED,
    UNCHANGED,
    Last,
    carried,
    fingerprint_metadata,
    fingerprint_of,
    stored_stat,
    today,
    unchanged_since,
)
from listrak_assets.erasure.ledger import LedgerError
from listrak_assets.fingerprints import file_stat
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import Kind, TableSpec
from listrak_assets.settings import Settings
from listrak_assets.suppression import SaltError

SCHEMA_VALID = "schema_valid"
CONSERVATION = "conservation"
KEY_UNIQUE = "key_unique"
# The clean materialization's record of its check results.
CHECKS = "check_results"


def _outs(spec: TableSpec, prefix: Prefix, io_manager: str) -> dict[str, dg.AssetOut]:
    return {
        "clean": dg.AssetOut(
            key=clean_key(spec.name, prefix),
            io_manager_key=io_manager,
            group_name="clean",
            kinds={"polars", "parquet"},
            description=f"{spec.description} Normalised to Listrak's formats and "
            "validated against its schema.",
            metadata={"dagster/column_schema": column_schema(spec), "key": ", ".join(spec.key)},
        ),
        "rejects": dg.AssetOut(
            key=rejects_key(spec.name, prefix),
            io_manager_key=io_manager,
            group_name="clean",
            kinds={"polars", "parquet"},
            description=f"Rows of {spec.name} that could not be sent to Listrak: file, "
            "row, column, value (masked when PII is restricted) and the reason.",
            metadata={"dagster/column_schema": dtype_schema(REJECT_COLUMNS, REJECT_DESCRIPTIONS)},
        ),
    }


def _check_specs(spec: TableSpec, prefix: Prefix) -> list[dg.AssetCheckSpec]:
    clean = clean_key(spec.name, prefix)
    return [
        dg.AssetCheckSpec(
            SCHEMA_VALID,
            asset=clean,
            blocking=True,
            description="Every clean row passes the Listrak schema.",
        ),
        dg.AssetCheckSpec(
            CONSERVATION,
            asset=clean,
            blocking=True,
            description="raw rows = clean + rejected + merged duplicates.",
        ),
        dg.AssetCheckSpec(
            KEY_UNIQUE, asset=clean, description=f"({', '.join(spec.key)}) is unique."
        ),
    ]


def _clean_options(settings: Settings) -> CleanOptions:
    """The settings that steer cleaning."""
    return CleanOptions(
        default_phone_country=settings.default_phone_country,
        phone_validation=settings.phone_validation,
        date_order=settings.date_order,
        two_digit_years=settings.dates.two_digit_years,
        pivot_year=settings.dates.pivot_year,
        date_ranges=settings.dates.ranges(),
        source_timezone=settings.source_timezone,
        decimal_separator=settings.decimal_separator,
        invalid_optional=settings.invalid_optional,
        restrict_pii=settings.restrict_pii,
    )


def _by_reason(rejects: pl.DataFrame) -> dict[str, int]:
    """Rejected rows' problems by reason (blanked values are counted on their own)."""
    rejected = rejects.filter(pl.col("action") == ROW_REJECTED)
    counts = rejected.group_by("reason").len().sort("len", descending=True)
    return dict(counts.iter_rows())


def _clean_output(
    spec: TableSpec, extras: list[str], result: CleanResult, restrict_pii: bool, prefix: Prefix
) -> dg.Output:
    pii = [c.name for c in spec.columns if c.pii] + extras
    return dg.Output(
        result.clean,
        output_name="clean",
        metadata={
            "dagster/row_count": result.clean.height,
            "dagster/column_schema": column_schema(spec),
            "dagster/column_lineage": column_lineage(spec, raw_key(spec.name, prefix), extras),
            "preview": preview(result.clean, pii, restrict_pii),
            "rejected_rows": result.rejected_rows,
            "merged_duplicates": result.merged_rows,
            "rejects_by_reason": dg.MetadataValue.json(_by_reason(result.rejects)),
            # Invalid optional values sent empty in rows that were kept (not rejected rows).
            "blanked_values": result.blanked_values,
            "blanked_by_column": dg.MetadataValue.json(result.blanked),
            "attribute_columns": dg.MetadataValue.json(extras),
        },
    )


def _rejects_output(result: CleanResult) -> dg.Output:
    return dg.Output(
        result.rejects,
        output_name="rejects",
        metadata={
            "dagster/row_count": result.rejects.height,
            "rejected_rows": result.rejected_rows,
            "rejects_by_reason": dg.MetadataValue.json(_by_reason(result.rejects)),
            "blanked_values": result.blanked_values,
            # Values in the rejects table are already masked where PII is restricted.
            "preview": preview(result.rejects, [], False),
        },
    )


def _check_results(
    spec: TableSpec, result: CleanResult, prefix: Prefix
) -> list[dg.AssetCheckResult]:
    clean = clean_key(spec.name, prefix)
    accounted = result.clean.height + result.rejected_rows + result.merged_rows
    return [
        dg.AssetCheckResult(
            check_name=SCHEMA_VALID,
            asset_key=clean,
            passed=not result.schema_failures,
            metadata={"failures_by_reason": dg.MetadataValue.json(result.schema_failures)},
        ),
        dg.AssetCheckResult(
            check_name=CONSERVATION,
            asset_key=clean,
            passed=accounted == result.raw_rows,
            metadata={
                "raw_rows": result.raw_rows,
                "clean_rows": result.clean.height,
                "rejected_rows": result.rejected_rows,
                "merged_duplicates": result.merged_rows,
                "unaccounted": result.raw_rows - accounted,
            },
        ),
        dg.AssetCheckResult(
            check_name=KEY_UNIQUE,
            asset_key=clean,
            passed=result.duplicate_keys == 0,
            metadata={"duplicate_rows": result.duplicate_keys},
        ),
    ]


def _summary(spec: TableSpec, result: CleanResult) -> str:
    return (
        f"{spec.name}: {result.raw_rows} raw -> {result.clean.height} clean, "
        f"{result.rejected_rows} rejected, {result.merged_rows} merged duplicates, "
        f"{result.blanked_values} invalid optional values blanked"
    )


def build_clean_asset(
    spec: TableSpec,
    suppress: bool = True,
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    prefix: Prefix = (),
    partitions: dg.PartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """The clean table and its rejects, made in one step with the checks that need the
    cleaning result: read the settings, clean, then report. With `suppress`, rows of
    forgotten people are rejected (after the suppression list is brought up to date). With
    `partitions` (days), each day is cleaned and de-duplicated on its own: Listrak upserts
    orders by number, so a later day's row for an order replaces the earlier one there."""

    @dg.multi_asset(
        name=op_name(f"clean_{spec.name}", prefix),
        ins={"raw": dg.AssetIn(key=raw_key(spec.name, prefix))},
        deps=[prefixed(SUPPRESSION_KEY, prefix)] if suppress else [],
        outs=_outs(spec, prefix, keys.io_manager),
        check_specs=_check_specs(spec, prefix),
        required_resource_keys={keys.settings, keys.erasure} if suppress else {keys.settings},
        partitions_def=partitions,
    )
    def _clean(context: dg.AssetExecutionContext, raw: pl.LazyFrame):
        settings: ListrakSettings = getattr(context.resources, keys.settings)
        conf = settings.load()
        options = _clean_options(conf)
        outputs = [clean_key(spec.name, prefix), rejects_key(spec.name, prefix)]
        key, parts = _clean_inputs(context, spec, conf, options, suppress, prefix)
        # Before the unchanged check: without the salt, once anyone is forgotten, no step
        # vouches for a table, not even one it would keep as it is.
        suppression = None
        if suppress:
            try:
                erasure: ListrakErasure = getattr(context.resources, keys.erasure)
                suppression = erasure.suppression(ledger_path(conf, prefix))
            except (SaltError, LedgerError) as err:
                # Sending a forgotten person again is worse than not sending at all.
                raise dg.Failure(description=str(err), allow_retries=False) from None
        same = unchanged_since(context, outputs, key) if key else None
        if key and same:
            yield from _unchanged(context, spec, key, parts, same, prefix)
            return
        # Scanned, read only now (an unchanged step never reads it) and never held whole
        # beside the cleaned copy.
        result = clean_table(raw, spec, replace(options, suppression=suppression))
        extras = extra_columns(raw, spec)
        checks = _check_results(spec, result, prefix)
        stamp = fingerprint_metadata(key, parts) if key else {}
        clean = _clean_output(spec, extras, result, conf.restrict_pii, prefix)
        yield dg.Output(
            clean.value,
            output_name="clean",
            metadata={**clean.metadata, **stamp, CHECKS: _stored_checks(checks)},
        )
        yield dg.Output(
            result.rejects,
            output_name="rejects",
            metadata={**_rejects_output(result).metadata, **stamp},
        )
        yield from checks
        context.log.info(_summary(spec, result))

    return _clean


def _clean_inputs(
    context: dg.AssetExecutionContext,
    spec: TableSpec,
    conf: Settings,
    options: CleanOptions,
    suppress: bool,
    prefix: Prefix,
) -> tuple[str | None, dict[str, object]]:
    """What a clean table depends on: the stored raw table, the cleaning settings, the day
    (date ranges end today), and the erasure ledger. No fingerprint when the raw table is not
    a file this step can see (another IO manager): then it is always rebuilt."""
    raw = stored_stat(context, raw_key(spec.name, prefix))
    if raw is None:
        return None, {}
    dated = any(c.kind in (Kind.DATE, Kind.DATETIME) for c in spec.columns)
    return fingerprint_of(
        {
            "table": spec.name,
            # A table kept by day: one day's clean table is never another day's.
            **(
                {"partition": step_day(context).isoformat()}
                if context.assets_def.partitions_def
                else {}
            ),
            "raw": raw,
            "options": repr(options),
            "day": today() if dated or options.pivot_year is None else None,
            "ledger": file_stat(ledger_path(conf, prefix)) if suppress else None,
        }
    )


def _stored_checks(checks: list[dg.AssetCheckResult]) -> dg.MetadataValue:
    """The check results, kept with the clean table so an unchanged run reports them again."""
    return dg.MetadataValue.json(
        {
            c.check_name: {
                "passed": c.passed,
                "metadata": {
                    k: v.value if isinstance(v, dg.MetadataValue) else v
                    for k, v in c.metadata.items()
                },
            }
            for c in checks
            if c.check_name
        }
    )


def _unchanged(
    context: dg.AssetExecutionContext,
    spec: TableSpec,
    key: str,
    parts: dict[str, object],
    same: list[Last],
    prefix: Prefix,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The stored clean table and rejects kept, and the checks reported from their result."""
    clean, rejects = same
    stamp = fingerprint_metadata(key, parts)
    for output, last in (("clean", clean), ("rejects", rejects)):
        yield dg.Output(
            KEEP_STORED,
            output_name=output,
            metadata={**carried(context, last), **stamp},
        )
    stored = clean.value(CHECKS) or {}
    for name in (SCHEMA_VALID, CONSERVATION, KEY_UNIQUE):
        result = stored.get(name)
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key=clean_key(spec.name, prefix),
            # A result that was not kept can't be vouched for: re-run with the force tag.
            passed=bool(result and result["passed"]),
            metadata={**(result or {}).get("metadata", {}), UNCHANGED: True},
            description=f"unchanged since run {clean.run_id[:8]}: its result, not re-computed",
        )


CLEAN_ASSETS = [build_clean_asset(spec) for spec in TABLES.values()]
