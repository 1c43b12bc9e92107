"""Cleans one table: normalise every column, reject what can't be fixed, de-duplicate on the
key (newest row wins), and validate against the Listrak schema.

Conservation holds by construction and is checked: every raw row is either in `clean`, in
`rejects` (one line per problem, so a row may appear more than once) or counted in
`merged_rows`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pandera.polars as pa
import polars as pl

from listrak_assets.cleaning.booleans import normalise_boolean
from listrak_assets.cleaning.choices import normalise_choice, normalise_status
from listrak_assets.cleaning.dates import DateOrder, normalise_date, normalise_datetime
from listrak_assets.cleaning.emails import normalise_email
from listrak_assets.cleaning.numbers import normalise_decimal, normalise_integer
from listrak_assets.cleaning.phones import normalise_phone
from listrak_assets.cleaning.text import clean_text, cut
from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.privacy import mask
from listrak_assets.schemas.reasons import REASONS
from listrak_assets.schemas.spec import Col, Kind, Overflow, TableSpec
from listrak_assets.schemas.validation import build_schema

ROW = "_row"
_FLAG = "__unparsed__"

REJECT_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
    "message": pl.String(),
    "stage": pl.String(),
}

REJECT_DESCRIPTIONS: dict[str, str] = {
    "source_file": "input file the row came from",
    "source_row": "record number in that file, 1 for the first row after the header",
    "column": "the Listrak column with the problem",
    "value": "the value as written in the file (masked when PII is restricted)",
    "reason": "stable reason code, e.g. invalid_email",
    "message": "the reason in words",
    "stage": "normalise (value could not be parsed) or validate (broke a schema rule)",
}

# Kinds whose text must parse into a typed value; text that doesn't is rejected here, since a
# typed column can't hold it for the schema to see.
_PARSE_REASONS: dict[Kind, str] = {
    Kind.DATE: "invalid_date",
    Kind.DATETIME: "invalid_datetime",
    Kind.BOOLEAN: "invalid_boolean",
    Kind.DECIMAL: "invalid_number",
    Kind.INTEGER: "invalid_number",
    Kind.PHONE: "invalid_phone",
    Kind.STATUS: "invalid_choice",
}


@dataclass(frozen=True)
class CleanOptions:
    default_phone_country: str = "US"
    date_order: DateOrder = "MDY"
    source_timezone: str = "UTC"
    restrict_pii: bool = True
    today: dt.date | None = None


@dataclass(frozen=True)
class CleanResult:
    clean: pl.DataFrame
    rejects: pl.DataFrame
    raw_rows: int
    merged_rows: int
    # Rows of `clean` that still fail the full schema: always empty unless cleaning has a bug;
    # the blocking `schema_valid` check reports it.
    schema_failures: dict[str, int] = field(default_factory=dict)

    @cached_property
    def rejected_rows(self) -> int:
        return self.rejects.select(pl.struct("source_file", "source_row").n_unique()).item()


def normalise(col: Col, text: pl.Series, options: CleanOptions) -> pl.Series:
    """The typed, Listrak-formatted value of one column, from its clean text."""
    match col.kind:
        case Kind.EMAIL:
            return normalise_email(text)
        case Kind.PHONE:
            return normalise_phone(text, options.default_phone_country)
        case Kind.DATE:
            return normalise_date(text, options.date_order)
        case Kind.DATETIME:
            return normalise_datetime(text, options.date_order, options.source_timezone)
        case Kind.BOOLEAN:
            return normalise_boolean(text)
        case Kind.DECIMAL:
            return normalise_decimal(text)
        case Kind.INTEGER:
            return normalise_integer(text)
        case Kind.STATUS:
            return normalise_status(text, col.choices)
        case Kind.CHOICE:
            return normalise_choice(text, col.choices, col.spellings)
        case _:
            if col.max_len is not None and col.overflow is Overflow.CUT:
                return cut(text, col.max_len)
            return text


def _normalised(raw: pl.DataFrame, spec: TableSpec, options: CleanOptions) -> pl.DataFrame:
    """Typed columns, plus one flag column per typed column: text that did not parse."""
    empty = pl.Series([None] * raw.height, dtype=pl.String)
    texts = {c: clean_text(raw[c]) if c in raw.columns else empty for c in spec.column_names}
    for target, source in spec.fallbacks.items():
        if source in raw.columns:
            texts[target] = texts[target].fill_null(clean_text(raw[source]))
    columns: list[pl.Series] = [pl.Series(ROW, range(raw.height), dtype=pl.UInt32)]
    if UPDATED_AT in raw.columns:
        columns.append(raw[UPDATED_AT])
    flags = []
    for col in spec.columns:
        text = texts[col.name]
        value = normalise(col, text, options).alias(col.name)
        columns.append(value)
        if col.kind in _PARSE_REASONS:
            flags.append((text.is_not_null() & value.is_null()).alias(_FLAG + col.name))
    extras = [
        cut(clean_text(raw[c]), spec.extra_max_len).alias(c) for c in extra_columns(raw, spec)
    ]
    return pl.DataFrame([*columns, *extras, *flags])


def extra_columns(frame: pl.DataFrame, spec: TableSpec) -> list[str]:
    """Columns outside the spec that ride along (audience attributes)."""
    if not spec.keep_extra_columns:
        return []
    names = set(spec.column_names)
    return [c for c in frame.columns if c not in names and not c.startswith("_")]


def _schema_failures(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, reasons: dict[str, list[str]]
) -> pl.DataFrame:
    """(row position, column, reason) for every failing value; empty when the frame is valid."""
    empty = pl.DataFrame(schema={"index": pl.Int64, "column": pl.String, "reason": pl.String})
    try:
        schema.validate(frame, lazy=True)
        return empty
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    if cases.filter(pl.col("index").is_null()).height:
        # A wrong dtype or a missing column is a defect of the cleaning code, not of the data.
        raise RuntimeError(
            f"cleaned {schema.name} does not have the schema's shape: "
            f"{cases.filter(pl.col('index').is_null()).to_dicts()}"
        )
    by_check = [
        {"column": c, "check_number": i, "by_number": r}
        for c, rs in reasons.items()
        for i, r in enumerate(rs)
    ]
    lookup = pl.DataFrame(
        by_check, schema={"column": pl.String, "check_number": pl.Int32, "by_number": pl.String}
    )
    cases = cases.join(lookup, on=["column", "check_number"], how="left")
    reason = (
        pl.when(pl.col("check") == "not_nullable")
        .then(pl.lit("missing_required"))
        .when(pl.col("check").str.contains("uniqueness|unique"))
        .then(pl.lit("duplicate_key"))
        .otherwise(pl.col("by_number"))
    )
    return cases.select(
        pl.col("index").cast(pl.Int64), pl.col("column").fill_null("(key)"), reason.alias("reason")
    ).unique()


def _rejects(
    raw: pl.DataFrame, problems: pl.DataFrame, spec: TableSpec, options: CleanOptions
) -> pl.DataFrame:
    """One line per problem with the raw value as it was in the file (masked if PII)."""
    if problems.is_empty():
        return pl.DataFrame(schema=REJECT_COLUMNS)
    rows = raw.with_row_index(ROW).filter(pl.col(ROW).is_in(problems[ROW].implode()))
    value_cols = [c for c in rows.columns if c not in (ROW, SOURCE_FILE, SOURCE_ROW, UPDATED_AT)]
    values = rows.unpivot(index=ROW, on=value_cols, variable_name="column", value_name="value")
    where = rows.select(
        ROW, pl.col(SOURCE_FILE).alias("source_file"), pl.col(SOURCE_ROW).alias("source_row")
    )
    pii = [c.name for c in spec.columns if c.pii] + extra_columns(raw, spec)
    value = pl.col("value")
    if options.restrict_pii:
        value = pl.when(pl.col("column").is_in(pii)).then(mask(value)).otherwise(value)
    out = (
        problems.join(values, on=[ROW, "column"], how="left")
        .join(where, on=ROW, how="left")
        .with_columns(
            value.alias("value"),
            pl.col("reason").replace_strict(REASONS, return_dtype=pl.String).alias("message"),
        )
    )
    return out.sort(ROW, "column").select(list(REJECT_COLUMNS)).cast(REJECT_COLUMNS)


def _parse_problems(
    frame: pl.DataFrame, spec: TableSpec
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The frame without its flag columns, and the values that did not parse (per column)."""
    flags = [c for c in frame.columns if c.startswith(_FLAG)]
    problems = [
        frame.filter(pl.col(flag)).select(
            ROW,
            pl.lit(flag.removeprefix(_FLAG)).alias("column"),
            pl.lit(_PARSE_REASONS[spec.col(flag.removeprefix(_FLAG)).kind]).alias("reason"),
            pl.lit("normalise").alias("stage"),
        )
        for flag in flags
    ]
    return frame.drop(flags), problems


def _rule_problems(frame: pl.DataFrame, spec: TableSpec, today: dt.date) -> pl.DataFrame:
    """One problem per value that breaks a per-row rule of the schema.

    Run before de-duplication, so that it picks the newest *valid* row for each key. All
    rows are validated, so a row shows every problem it has; a value that failed to parse is
    null here and its own reason already stands.
    """
    rules = build_schema(spec, unique_key=False, today=today)
    failures = _schema_failures(frame, rules.schema, rules.reasons)
    return failures.select(
        frame[ROW].gather(failures["index"]).alias(ROW),
        "column",
        "reason",
        pl.lit("validate").alias("stage"),
    )


def _newest_per_key(frame: pl.DataFrame, spec: TableSpec, options: CleanOptions) -> pl.DataFrame:
    """One row per key: the one updated last (a row without a time counts as oldest), and
    of equals the one read last; kept in the order the rows were read."""
    order = (
        normalise_datetime(
            clean_text(frame[UPDATED_AT]), options.date_order, options.source_timezone
        )
        if UPDATED_AT in frame.columns
        else pl.lit(None, pl.Datetime("us", "UTC"))
    )
    return (
        frame.with_columns(order.alias("__order"))
        .sort("__order", ROW, nulls_last=False)
        .unique(subset=list(spec.key), keep="last")
        .sort(ROW)
    )


def _failure_counts(clean: pl.DataFrame, spec: TableSpec, today: dt.date) -> dict[str, int]:
    """Values of the clean table that break the full schema, by reason."""
    full = build_schema(spec, today=today)
    final = _schema_failures(clean, full.schema, full.reasons)
    return dict(final.group_by("reason").len().iter_rows()) if not final.is_empty() else {}


def clean_table(raw: pl.DataFrame, spec: TableSpec, options: CleanOptions) -> CleanResult:
    """Normalise, reject, de-duplicate and validate one raw table."""
    today = options.today or dt.date.today()
    frame, unparsed = _parse_problems(_normalised(raw, spec, options), spec)
    problems = pl.concat([*unparsed, _rule_problems(frame, spec, today)]).unique(
        subset=[ROW, "column"], keep="first", maintain_order=True
    )
    valid = frame.filter(~pl.col(ROW).is_in(problems[ROW].implode()))
    newest = _newest_per_key(valid, spec, options)
    clean = newest.select(*spec.column_names, *extra_columns(raw, spec))
    return CleanResult(
        clean=clean,
        rejects=_rejects(raw, problems, spec, options),
        raw_rows=raw.height,
        merged_rows=valid.height - newest.height,
        schema_failures=_failure_counts(clean, spec, today),
    )
