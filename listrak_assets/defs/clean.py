"""Clean assets: each table normalised, de-duplicated and validated, with its rejects.

The checks run inside the asset because they need the cleaning result itself (how many rows
were merged, what the final validation found); the two that protect Listrak are blocking.
"""

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
from listrak_assets.erasure.ledger import LedgerError
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import TableSpec
from listrak_assets.settings import Settings
from listrak_assets.suppression import SaltError

SCHEMA_VALID = "schema_valid"
CONSERVATION = "conservation"
KEY_UNIQUE = "key_unique"


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
    spec: TableSpec, raw: pl.DataFrame, result: CleanResult, restrict_pii: bool, prefix: Prefix
) -> dg.Output:
    extras = extra_columns(raw, spec)
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
    spec: TableSpec, raw: pl.DataFrame, result: CleanResult, prefix: Prefix
) -> list[dg.AssetCheckResult]:
    clean = clean_key(spec.name, prefix)
    accounted = result.clean.height + result.rejected_rows + result.merged_rows
    duplicates = result.clean.select(pl.struct(list(spec.key)).is_duplicated().sum()).item()
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
            passed=accounted == raw.height,
            metadata={
                "raw_rows": raw.height,
                "clean_rows": result.clean.height,
                "rejected_rows": result.rejected_rows,
                "merged_duplicates": result.merged_rows,
                "unaccounted": raw.height - accounted,
            },
        ),
        dg.AssetCheckResult(
            check_name=KEY_UNIQUE,
            asset_key=clean,
            passed=duplicates == 0,
            metadata={"duplicate_rows": duplicates},
        ),
    ]


def _summary(spec: TableSpec, raw: pl.DataFrame, result: CleanResult) -> str:
    return (
        f"{spec.name}: {raw.height} raw -> {result.clean.height} clean, "
        f"{result.rejected_rows} rejected, {result.merged_rows} merged duplicates, "
        f"{result.blanked_values} invalid optional values blanked"
    )


def build_clean_asset(
    spec: TableSpec,
    suppress: bool = True,
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    prefix: Prefix = (),
) -> dg.AssetsDefinition:
    """The clean table and its rejects, made in one step with the checks that need the
    cleaning result: read the settings, clean, then report. With `suppress`, rows of
    forgotten people are rejected (after the suppression list is brought up to date)."""

    @dg.multi_asset(
        name=op_name(f"clean_{spec.name}", prefix),
        ins={"raw": dg.AssetIn(key=raw_key(spec.name, prefix))},
        deps=[prefixed(SUPPRESSION_KEY, prefix)] if suppress else [],
        outs=_outs(spec, prefix, keys.io_manager),
        check_specs=_check_specs(spec, prefix),
        required_resource_keys={keys.settings, keys.erasure} if suppress else {keys.settings},
    )
    def _clean(context: dg.AssetExecutionContext, raw: pl.DataFrame):
        settings: ListrakSettings = getattr(context.resources, keys.settings)
        conf = settings.load()
        options = _clean_options(conf)
        if suppress:
            try:
                erasure: ListrakErasure = getattr(context.resources, keys.erasure)
                ledger = ledger_path(conf, prefix)
                options = replace(options, suppression=erasure.suppression(ledger))
            except (SaltError, LedgerError) as err:
                # Sending a forgotten person again is worse than not sending at all.
                raise dg.Failure(description=str(err), allow_retries=False) from None
        result = clean_table(raw, spec, options)
        yield _clean_output(spec, raw, result, conf.restrict_pii, prefix)
        yield _rejects_output(result)
        yield from _check_results(spec, raw, result, prefix)
        context.log.info(_summary(spec, raw, result))

    return _clean


CLEAN_ASSETS = [build_clean_asset(spec) for spec in TABLES.values()]
