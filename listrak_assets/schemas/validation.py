"""Pandera (polars backend) schemas built from the table specs.

Every check carries a reason code, so a failure case from Pandera maps straight to a reject
row with a human reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from listrak_assets.formats import E164_PATTERN, EMAIL_PATTERN
from listrak_assets.schemas.screened import ScreenedSchema, rule_check
from listrak_assets.schemas.spec import (
    DEFAULT_RANGES,
    Col,
    DateRange,
    Kind,
    Overflow,
    Span,
    TableSpec,
)

# Money is exact to the cent: what the file says is what Listrak receives.
MONEY = pl.Decimal(18, 2)

DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.EMAIL: pl.String(),
    Kind.PHONE: pl.String(),
    Kind.CHOICE: pl.String(),
    Kind.DATE: pl.Date(),
    Kind.DATETIME: pl.Datetime("us", "UTC"),
    Kind.BOOLEAN: pl.Boolean(),
    Kind.DECIMAL: MONEY,
    Kind.INTEGER: pl.Int64(),
    Kind.STATUS: pl.Int64(),
}


@dataclass(frozen=True)
class TableSchema:
    """A Pandera schema plus, per column, the reason code of each of its checks (by position)."""

    schema: ScreenedSchema
    reasons: dict[str, list[str]]


def _range_check(col: Col, today: dt.date, ranges: Mapping[Span, DateRange]) -> pa.Check:
    earliest, latest = ranges[col.span or Span.EVENTS].bounds(today)
    error = f"{earliest}..{latest}"
    if col.kind is Kind.DATE:
        return rule_check(lambda c: c.is_between(earliest, latest), name="in_range", error=error)
    start = dt.datetime.combine(earliest, dt.time(), dt.UTC)
    end = dt.datetime.combine(latest, dt.time.max, dt.UTC)
    return rule_check(lambda c: c.is_between(start, end), name="in_range", error=error)


def _checks(
    col: Col, today: dt.date, ranges: Mapping[Span, DateRange]
) -> list[tuple[pa.Check, str]]:
    """The column's rules with their reason codes. Each is a polars expression (see
    `screened`), so that a table's rules run together as one `select`."""
    checks: list[tuple[pa.Check, str]] = []
    if col.kind is Kind.EMAIL:
        email = rule_check(
            lambda c: c.str.contains(EMAIL_PATTERN), name="str_matches", error="email address"
        )
        checks.append((email, "invalid_email"))
    if col.kind is Kind.PHONE:
        phone = rule_check(
            lambda c: c.str.contains(E164_PATTERN), name="str_matches", error="E.164 digits"
        )
        checks.append((phone, "invalid_phone"))
    if col.kind is Kind.DATE and col.span is not None:
        checks.append((_range_check(col, today, ranges), "invalid_date"))
    if col.kind is Kind.DATETIME and col.span is not None:
        checks.append((_range_check(col, today, ranges), "invalid_datetime"))
    if col.kind is Kind.INTEGER and col.minimum is not None:
        minimum = col.minimum
        checks.append(
            (
                rule_check(lambda c: c >= minimum, name="ge", error=f">= {minimum}"),
                "invalid_quantity",
            )
        )
    if col.kind is Kind.CHOICE:
        choices = list(col.choices)
        choice = rule_check(
            lambda c: c.is_in(choices), name="isin", error=f"one of {', '.join(choices)}"
        )
        checks.append((choice, "invalid_choice"))
    if col.kind is Kind.STATUS:
        top = len(col.choices) - 1
        status = rule_check(lambda c: c.is_between(0, top), name="in_range", error="status 0-11")
        checks.append((status, "invalid_choice"))
    if col.kind is Kind.DECIMAL:
        checks.append((rule_check(lambda c: c >= 0, name="ge", error=">= 0"), "negative_amount"))
    if col.kind in (Kind.TEXT, Kind.EMAIL, Kind.PHONE, Kind.CHOICE):
        # Not containing CR or LF (a plain search, three times faster than a whole-value match).
        no_breaks = rule_check(
            lambda c: c.str.contains(r"[\r\n]").not_(),
            name="no_line_breaks",
            error="no line breaks",
        )
        checks.append((no_breaks, "line_break"))
    if col.max_len is not None:
        max_len = col.max_len
        length = rule_check(
            lambda c: c.str.len_chars() <= max_len, name="str_length", error=f"at most {max_len}"
        )
        checks.append((length, "too_long"))
    return checks


def describe_column(col: Col) -> str:
    """What the column holds, in a few words: its own note, its format and its limit."""
    parts = [col.description] if col.description else []
    parts.append(_FORMATS[col.kind])
    if col.max_len is not None:
        action = "cut" if col.overflow is Overflow.CUT else "longer is rejected"
        parts.append(f"at most {col.max_len} characters ({action})")
    if col.choices and col.kind is Kind.CHOICE:
        parts.append("one of " + ", ".join(col.choices))
    return "; ".join(parts)


_FORMATS: dict[Kind, str] = {
    Kind.TEXT: "text",
    Kind.EMAIL: "email, lower case",
    Kind.PHONE: "E.164 digits with country code, no +",
    Kind.DATE: "date, YYYY-MM-DD",
    Kind.DATETIME: "timestamp, UTC",
    Kind.BOOLEAN: "true/false",
    Kind.DECIMAL: "amount, exact to the cent (Decimal(18, 2))",
    Kind.INTEGER: "whole number",
    Kind.CHOICE: "code",
    Kind.STATUS: "order status number 0-11",
}


def build_schema(
    spec: TableSpec,
    *,
    unique_key: bool = True,
    today: dt.date | None = None,
    ranges: Mapping[Span, DateRange] = DEFAULT_RANGES,
) -> TableSchema:
    """The Pandera schema of a clean table. `unique_key=False` gives the per-row rules only,
    used before de-duplication; `ranges` are the plausible dates of each span."""
    today = today or dt.date.today()
    columns: dict[str, pa.Column] = {}
    reasons: dict[str, list[str]] = {}
    for col in spec.columns:
        checks = _checks(col, today, ranges)
        single_key = unique_key and spec.key == (col.name,)
        columns[col.name] = pa.Column(
            DTYPES[col.kind],
            checks=[c for c, _ in checks],
            nullable=not col.required,
            unique=single_key,
            description=describe_column(col),
            title=col.name,
        )
        reasons[col.name] = [r for _, r in checks]
    schema = ScreenedSchema(
        columns,
        name=spec.name,
        description=spec.description,
        unique=list(spec.key) if unique_key and len(spec.key) > 1 else None,
        strict=False,  # audience attribute columns ride along as text
        ordered=False,
    )
    return TableSchema(schema=schema, reasons=reasons)
