"""The screened schemas reject exactly what Pandera's built-in checks rejected, with the same
failure report: each table's schema against the same columns checked by Pandera alone, with
the built-in checks the rules were written as before they became polars expressions."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listrak_assets.formats import E164_PATTERN, EMAIL_PATTERN
from listrak_assets.schemas import TABLES, Kind, TableSpec
from listrak_assets.schemas.screened import ScreenedSchema
from listrak_assets.schemas.spec import DEFAULT_RANGES, Col, Span
from listrak_assets.schemas.validation import DTYPES, build_schema

TODAY = dt.date(2026, 12, 1)
UTC = dt.UTC


def _builtin_checks(col: Col) -> list[pa.Check]:
    """The column's rules as Pandera's built-in checks, in the schema's order."""
    checks: list[pa.Check] = []
    if col.kind is Kind.EMAIL:
        checks.append(pa.Check.str_matches(EMAIL_PATTERN, error="email address"))
    if col.kind is Kind.PHONE:
        checks.append(pa.Check.str_matches(E164_PATTERN, error="E.164 digits"))
    if col.kind in (Kind.DATE, Kind.DATETIME) and col.span is not None:
        earliest, latest = DEFAULT_RANGES[col.span].bounds(TODAY)
        error = f"{earliest}..{latest}"
        if col.kind is Kind.DATE:
            checks.append(pa.Check.in_range(earliest, latest, error=error))
        else:
            start = dt.datetime.combine(earliest, dt.time(), UTC)
            end = dt.datetime.combine(latest, dt.time.max, UTC)
            checks.append(pa.Check.in_range(start, end, error=error))
    if col.kind is Kind.INTEGER and col.minimum is not None:
        checks.append(pa.Check.ge(col.minimum, error=f">= {col.minimum}"))
    if col.kind is Kind.CHOICE:
        checks.append(pa.Check.isin(list(col.choices), error=f"one of {', '.join(col.choices)}"))
    if col.kind is Kind.STATUS:
        checks.append(pa.Check.in_range(0, len(col.choices) - 1, error="status 0-11"))
    if col.kind is Kind.DECIMAL:
        checks.append(pa.Check.ge(0, error=">= 0"))
    if col.kind in (Kind.TEXT, Kind.EMAIL, Kind.PHONE, Kind.CHOICE):
        checks.append(pa.Check.str_matches(r"^[^\r\n]*$", error="no line breaks"))
    if col.max_len is not None:
        checks.append(pa.Check.str_length(max_value=col.max_len, error=f"at most {col.max_len}"))
    return checks


def _builtin_schema(spec: TableSpec, unique_key: bool) -> pa.DataFrameSchema:
    """The table's schema checked by Pandera alone, with built-in checks."""
    screened = build_schema(spec, unique_key=unique_key, today=TODAY).schema
    columns = {
        name: pa.Column(
            column.dtype,
            checks=_builtin_checks(spec.col(name)),
            nullable=column.nullable,
            unique=column.unique,
        )
        for name, column in screened.columns.items()
    }
    return pa.DataFrameSchema(
        columns, name=screened.name, unique=screened.unique, strict=False, ordered=False
    )


def _report(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Every failure case as (index, column, check, check number, value), sorted."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.select("index", "column", "check", "check_number", "failure_case")
        return sorted(cases.rows(), key=repr)
    return []


def _pool(col: Col) -> list[Any]:
    """Values on both sides of each of the column's rules, and null."""
    if col.kind in (Kind.DATE, Kind.DATETIME):
        earliest, latest = DEFAULT_RANGES[col.span or Span.EVENTS].bounds(TODAY)
        day = dt.timedelta(days=1)
        dates = [earliest - day, earliest, TODAY, latest, latest + day, None]
        if col.kind is Kind.DATE:
            return dates
        micro = dt.timedelta(microseconds=1)
        start = dt.datetime.combine(earliest, dt.time(), UTC)
        end = dt.datetime.combine(latest, dt.time.max, UTC)
        return [start - micro, start, end, end + micro, None]
    if col.kind is Kind.BOOLEAN:
        return [True, False, None]
    if col.kind is Kind.DECIMAL:
        return [Decimal("-0.01"), Decimal("0.00"), Decimal("12.50"), None]
    if col.kind is Kind.INTEGER:
        low = col.minimum if col.minimum is not None else 0
        return [low - 1, low, low + 7, None]
    if col.kind is Kind.STATUS:
        return [-1, 0, len(col.choices) - 1, len(col.choices), None]
    values: list[Any] = [None, "", "a\rb", "line\n", "x"]
    if col.kind is Kind.EMAIL:
        values += ["a@example.com", "b@example.org", "bad@", "A@EXAMPLE.COM"]
    if col.kind is Kind.PHONE:
        values += ["17175550100", "4930901820", "+17175550100", "0123", "1" * 16]
    if col.kind is Kind.CHOICE:
        values += [*col.choices[:2], col.choices[0].lower()]
    if col.max_len is not None:
        n = col.max_len
        # A value at the limit, one over, and one within it in characters but not in bytes.
        values += ["y" * n, "y" * (n + 1), "é" * n]
    return values


def _frame(spec: TableSpec, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c.name: DTYPES[c.kind] for c in spec.columns})


def _rows(spec: TableSpec) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries({c.name: st.sampled_from(_pool(c)) for c in spec.columns})
    return st.lists(row, max_size=6)


def _valid_row(spec: TableSpec, i: int) -> dict[str, Any]:
    """A row that passes every rule, the key made distinct by `i`."""
    row = dict(_valid_values(spec.name))
    for name in spec.key:
        if isinstance(row[name], str):
            kind = spec.col(name).kind
            row[name] = f"k{i}{row[name]}" if kind is Kind.EMAIL else f"{row[name]}{i}"
    return row


@functools.cache
def _valid_values(table: str) -> dict[str, Any]:
    """The first value of each column's pool that passes its rules."""
    spec = TABLES[table]
    return {
        c.name: next(v for v in _pool(c) if v is not None and _passes(c, v)) for c in spec.columns
    }


def _passes(col: Col, value: Any) -> bool:
    schema = pa.DataFrameSchema({col.name: pa.Column(DTYPES[col.kind], _builtin_checks(col))})
    frame = pl.DataFrame({col.name: [value]}, schema={col.name: DTYPES[col.kind]})
    return not _report(schema, frame)


@pytest.mark.parametrize("unique_key", [True, False], ids=["clean", "per_row"])
@pytest.mark.parametrize("table", sorted(TABLES))
def test_screened_schema_reports_what_pandera_alone_reports(table: str, unique_key: bool) -> None:
    spec = TABLES[table]
    screened = build_schema(spec, unique_key=unique_key, today=TODAY).schema
    builtin = _builtin_schema(spec, unique_key)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=True,
    )
    @given(rows=_rows(spec))
    def agree(rows: list[dict[str, Any]]) -> None:
        frame = _frame(spec, rows)
        assert _report(screened, frame) == _report(builtin, frame)

    agree()


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_value_of_every_pool_is_judged_as_before(table: str) -> None:
    """One frame holding each pool value of each column beside valid values: no value the
    built-in checks rejected passes, and nothing new is rejected."""
    spec = TABLES[table]
    rows = []
    for col in spec.columns:
        for value in _pool(col):
            row = _valid_row(spec, len(rows))
            row[col.name] = value
            rows.append(row)
    frame = _frame(spec, rows)
    report = _report(build_schema(spec, today=TODAY).schema, frame)
    assert report == _report(_builtin_schema(spec, unique_key=True), frame)
    assert report  # each pool holds failing values


def test_a_valid_frame_leaves_pandera_only_names_and_dtypes() -> None:
    spec = TABLES["order_items"]
    frame = _frame(spec, [_valid_row(spec, i) for i in range(3)])
    schema = build_schema(spec, today=TODAY).schema
    assert schema.validate(frame, lazy=True).equals(frame)
    screened = schema.screen(frame)
    assert all(not c.checks and c.nullable and not c.unique for c in screened.columns.values())
    assert screened.unique is None
    assert schema.unique == list(spec.key)  # the declared schema is left as it is


def test_only_the_failing_column_keeps_its_checks() -> None:
    spec = TABLES["customers"]
    rows = [_valid_row(spec, i) for i in range(3)]
    rows[1]["mobilephone"] = "0123"
    frame = _frame(spec, rows)
    schema = build_schema(spec, today=TODAY).schema
    screened = schema.screen(frame)
    kept = {n for n, c in screened.columns.items() if c.checks}
    assert kept == {"mobilephone"}
    assert screened.columns["mobilephone"].checks == schema.columns["mobilephone"].checks
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(frame, lazy=True)
    cases = err.value.failure_cases.select("index", "column", "check", "check_number")
    assert cases.rows() == [(1, "mobilephone", "E.164 digits", 0)]


def test_a_frame_of_the_wrong_shape_gets_pandera_s_full_report() -> None:
    """A wrong dtype or a missing column is not screened: Pandera reports it, and the data
    rules of the other columns, as it always did."""
    spec = TABLES["customers"]
    rows = [_valid_row(spec, i) for i in range(2)]
    rows[0]["gender"] = "Q"
    frame = _frame(spec, rows).with_columns(pl.col("birthday").cast(pl.String)).drop("state")
    # (The text of a check that could not run names the expression, so it is left out.)
    report = [r[:4] for r in _report(build_schema(spec, today=TODAY).schema, frame)]
    assert report == [r[:4] for r in _report(_builtin_schema(spec, unique_key=True), frame)]
    checks = {(r[1], r[2]) for r in report}
    assert ("gender", "one of M, F, N") in checks
    assert ("birthday", "dtype('Date')") in checks
    assert any(c == "column_in_dataframe" for _, c in checks)


def test_a_lazy_frame_is_checked_for_shape_only_as_pandera_does() -> None:
    """Pandera checks only names and dtypes of a LazyFrame (unless configured otherwise);
    the screen does not change that."""
    spec = TABLES["customers"]
    rows = [_valid_row(spec, 0)]
    rows[0]["gender"] = "Q"
    lazy = _frame(spec, rows).lazy()
    assert isinstance(build_schema(spec, today=TODAY).schema.validate(lazy), pl.LazyFrame)


@pytest.mark.parametrize(
    ("values", "repeats"),
    [
        (["a", "b", None], False),
        (["a", None, None], True),  # two nulls repeat, as in Pandera's own check
        (["a", "b", "a"], True),
        ([None], False),
    ],
)
def test_uniqueness_is_screened_as_pandera_judges_it(values: list[Any], repeats: bool) -> None:
    """The screen's count of distinct values keeps a column's and a key's uniqueness rule
    exactly when Pandera's `is_duplicated` finds a repeat, nulls included."""
    frame = pl.DataFrame(
        {"k": values, "j": ["x"] * len(values)}, schema={"k": pl.String, "j": pl.String}
    )
    column = {"k": pa.Column(pl.String, nullable=True, unique=True), "j": pa.Column(pl.String)}
    single = ScreenedSchema(column)
    assert single.screen(frame).columns["k"].unique is repeats
    key = ScreenedSchema(
        {"k": pa.Column(pl.String, nullable=True), "j": pa.Column(pl.String)}, unique=["k", "j"]
    )
    assert (key.screen(frame).unique is not None) is repeats
    for screened, builtin in (
        (single, pa.DataFrameSchema(column)),
        (key, pa.DataFrameSchema(key.columns, unique=["k", "j"])),
    ):
        report = _report(screened, frame)
        assert report == _report(builtin, frame)
        assert bool(report) is repeats
