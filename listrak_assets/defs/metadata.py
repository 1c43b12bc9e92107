"""Metadata shown in the UI: column schemas from the Pandera schemas, column lineage, and
previews that mask personal data when PII is restricted."""

import dagster as dg
import polars as pl

from listrak_assets.privacy import mask
from listrak_assets.schemas.spec import TableSpec
from listrak_assets.schemas.validation import build_schema

PREVIEW_ROWS = 5


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """Dagster's column schema, derived from the Pandera schema (the single source)."""
    schema = build_schema(spec).schema
    columns = []
    for name, column in schema.columns.items():
        rules = [str(check.error) for check in column.checks if check.error]
        columns.append(
            dg.TableColumn(
                name=name,
                type=str(column.dtype),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=column.nullable, unique=column.unique, other=rules
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def dtype_schema(columns: dict[str, pl.DataType], descriptions: dict[str, str]) -> dg.TableSchema:
    """A column schema from polars types, for tables with a fixed shape of our own."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=n, type=str(t), description=descriptions.get(n))
            for n, t in columns.items()
        ]
    )


def frame_schema(frame: pl.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=n, type=str(t)) for n, t in frame.schema.items()]
    )


def column_lineage(
    spec: TableSpec, raw_key: dg.AssetKey, extras: list[str]
) -> dg.TableColumnLineage:
    """Each clean column comes from the raw column of the same name; a fallback column also
    reads its source (ordernumber <- alternateordernumber)."""
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for name in [*spec.column_names, *extras]:
        sources = [name, *([spec.fallbacks[name]] if name in spec.fallbacks else [])]
        deps[name] = [dg.TableColumnDep(asset_key=raw_key, column_name=s) for s in sources]
    return dg.TableColumnLineage(deps_by_column=deps)


def _escape(cell: object) -> str:
    """A cell's text that can't end its Markdown column early."""
    return str(cell).replace("|", "\\|")


def preview(frame: pl.DataFrame, pii_columns: list[str], restrict_pii: bool) -> dg.MetadataValue:
    """The first rows as a Markdown table, personal columns masked when PII is restricted."""
    head = frame.head(PREVIEW_ROWS)
    if restrict_pii:
        head = head.with_columns(mask(pl.col(c)) for c in pii_columns if c in head.columns)
    cells = head.select(pl.all().cast(pl.String).fill_null(""))
    lines = [
        "| " + " | ".join(cells.columns) + " |",
        "|" + "---|" * len(cells.columns),
        *("| " + " | ".join(_escape(v) for v in row) + " |" for row in cells.iter_rows()),
    ]
    return dg.MetadataValue.md("\n".join(lines))
