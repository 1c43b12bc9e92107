"""Clean assets: each table normalised, de-duplicated and validated, with its rejects.

The checks run inside the asset because they need the cleaning result itself (how many rows
were merged, what the final validation found); the two that protect Listrak are blocking.
"""

import dagster as dg
import polars as pl

from listrak_assets.cleaning.table import (
    REJECT_COLUMNS,
    REJECT_DESCRIPTIONS,
    CleanOptions,
    clean_table,
    extra_columns,
)
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.metadata import column_lineage, column_schema, dtype_schema, preview
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import TableSpec

SCHEMA_VALID = "schema_valid"
CONSERVATION = "conservation"
KEY_UNIQUE = "key_unique"


def _reject_metadata(rejects: pl.DataFrame) -> dict[str, int]:
    counts = rejects.group_by("reason").len().sort("len", descending=True)
    return dict(counts.iter_rows())


def build_clean_asset(spec: TableSpec) -> dg.AssetsDefinition:
    clean, rejects = clean_key(spec.name), rejects_key(spec.name)

    @dg.multi_asset(
        name=f"clean_{spec.name}",
        ins={"raw": dg.AssetIn(key=raw_key(spec.name))},
        outs={
            "clean": dg.AssetOut(
                key=clean,
                group_name="clean",
                kinds={"polars", "parquet"},
                description=f"{spec.description} Normalised to Listrak's formats and "
                "validated against its schema.",
                metadata={"dagster/column_schema": column_schema(spec), "key": ", ".join(spec.key)},
            ),
            "rejects": dg.AssetOut(
                key=rejects,
                group_name="clean",
                kinds={"polars", "parquet"},
                description=f"Rows of {spec.name} that could not be sent to Listrak: file, "
                "row, column, value (masked when PII is restricted) and the reason.",
                metadata={
                    "dagster/column_schema": dtype_schema(REJECT_COLUMNS, REJECT_DESCRIPTIONS)
                },
            ),
        },
        check_specs=[
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
        ],
    )
    def _clean(context: dg.AssetExecutionContext, raw: pl.DataFrame, settings: ListrakSettings):
        conf = settings.load()
        options = CleanOptions(
            default_phone_country=conf.default_phone_country,
            date_order=conf.date_order,
            source_timezone=conf.source_timezone,
            restrict_pii=conf.restrict_pii,
        )
        result = clean_table(raw, spec, options)
        extras = extra_columns(raw, spec)
        by_reason = _reject_metadata(result.rejects)
        pii = [c.name for c in spec.columns if c.pii] + extras
        rejected_rows = result.rejected_rows

        yield dg.Output(
            result.clean,
            output_name="clean",
            metadata={
                "dagster/row_count": result.clean.height,
                "dagster/column_schema": column_schema(spec),
                "dagster/column_lineage": column_lineage(spec, raw_key(spec.name), extras),
                "preview": preview(result.clean, pii, conf.restrict_pii),
                "rejected_rows": rejected_rows,
                "merged_duplicates": result.merged_rows,
                "rejects_by_reason": dg.MetadataValue.json(by_reason),
                "attribute_columns": dg.MetadataValue.json(extras),
            },
        )
        yield dg.Output(
            result.rejects,
            output_name="rejects",
            metadata={
                "dagster/row_count": result.rejects.height,
                "rejected_rows": rejected_rows,
                "rejects_by_reason": dg.MetadataValue.json(by_reason),
                # Values in the rejects table are already masked where PII is restricted.
                "preview": preview(result.rejects, [], False),
            },
        )
        yield dg.AssetCheckResult(
            check_name=SCHEMA_VALID,
            asset_key=clean,
            passed=not result.schema_failures,
            metadata={"failures_by_reason": dg.MetadataValue.json(result.schema_failures)},
        )
        accounted = result.clean.height + rejected_rows + result.merged_rows
        yield dg.AssetCheckResult(
            check_name=CONSERVATION,
            asset_key=clean,
            passed=accounted == raw.height,
            metadata={
                "raw_rows": raw.height,
                "clean_rows": result.clean.height,
                "rejected_rows": rejected_rows,
                "merged_duplicates": result.merged_rows,
                "unaccounted": raw.height - accounted,
            },
        )
        duplicates = result.clean.select(pl.struct(list(spec.key)).is_duplicated().sum()).item()
        yield dg.AssetCheckResult(
            check_name=KEY_UNIQUE,
            asset_key=clean,
            passed=duplicates == 0,
            metadata={"duplicate_rows": duplicates},
        )
        context.log.info(
            f"{spec.name}: {raw.height} raw -> {result.clean.height} clean, "
            f"{rejected_rows} rejected, {result.merged_rows} merged duplicates"
        )

    return _clean


CLEAN_ASSETS = [build_clean_asset(spec) for spec in TABLES.values()]
