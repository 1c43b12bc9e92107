"""What validation costs: the Pandera schema of clean customers against the same checks
written once by hand as one polars `select`, on the clean table the pipeline stage stored;
and the time of the reference-library paths of the normalisers (`phonenumbers`,
`email-validator`), which the vectorised paths leave the odd values to."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from listrak_assets.formats import E164_PATTERN, EMAIL_PATTERN
from listrak_assets.schemas import TABLES, Kind, TableSpec
from listrak_assets.schemas.spec import DEFAULT_RANGES, Span
from listrak_assets.schemas.validation import DTYPES, build_schema

# Each operation takes 0.5-1 s: single rounds on a shared 2-core machine vary by 2x, and a
# drift in load between a block of one and a block of the other flipped the verdict. Rounds
# alternate (which goes first alternates too) and the ratio is the median of the per-round
# ratios, so a change of load falls on both sides of a ratio alike.
ROUNDS = 11
TEXT_KINDS = (Kind.TEXT, Kind.EMAIL, Kind.PHONE, Kind.CHOICE)


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def paired_rounds(
    first: Callable[[], object], second: Callable[[], object], rounds: int = ROUNDS
) -> tuple[list[float], list[float]]:
    """Each function's seconds over `rounds` alternating rounds."""
    a: list[float] = []
    b: list[float] = []
    for n in range(rounds):
        if n % 2 == 0:
            a.append(_seconds(first))
            b.append(_seconds(second))
        else:
            b.append(_seconds(second))
            a.append(_seconds(first))
    return a, b


def bare_checks(frame: pl.DataFrame, spec: TableSpec, today: dt.date) -> dict[str, int]:
    """The clean table's schema rules as one polars `select`: failing values per rule (the
    dtypes and columns are compared from the frame's schema, which costs nothing)."""
    for col in spec.columns:
        if frame.schema.get(col.name) != DTYPES[col.kind]:
            raise ValueError(f"{col.name}: {frame.schema.get(col.name)}")
    exprs: list[pl.Expr] = []
    for col in spec.columns:
        c = pl.col(col.name)
        rules: dict[str, pl.Expr] = {}
        if col.kind is Kind.EMAIL:
            rules["email"] = c.str.contains(EMAIL_PATTERN)
        if col.kind is Kind.PHONE:
            rules["e164"] = c.str.contains(E164_PATTERN)
        if col.kind in (Kind.DATE, Kind.DATETIME) and col.span is not None:
            earliest, latest = DEFAULT_RANGES[col.span or Span.EVENTS].bounds(today)
            if col.kind is Kind.DATE:
                rules["range"] = c.is_between(earliest, latest)
            else:
                start = dt.datetime.combine(earliest, dt.time(), dt.UTC)
                rules["range"] = c.is_between(
                    start, dt.datetime.combine(latest, dt.time.max, dt.UTC)
                )
        if col.kind is Kind.INTEGER and col.minimum is not None:
            rules["minimum"] = c >= col.minimum
        if col.kind is Kind.CHOICE:
            rules["choice"] = c.is_in(list(col.choices))
        if col.kind is Kind.STATUS:
            rules["status"] = c.is_between(0, len(col.choices) - 1)
        if col.kind is Kind.DECIMAL:
            rules["negative"] = c >= 0
        if col.kind in TEXT_KINDS:
            rules["line_break"] = ~c.str.contains(r"[\r\n]")
        if col.max_len is not None:
            rules["length"] = c.str.len_chars() <= col.max_len
        exprs.extend((~rule).sum().alias(f"{col.name}:{name}") for name, rule in rules.items())
        if col.required:
            exprs.append(c.null_count().alias(f"{col.name}:not_null"))
    if len(spec.key) == 1:
        exprs.append(pl.col(spec.key[0]).is_duplicated().sum().alias("key:unique"))
    else:
        exprs.append(pl.struct(spec.key).is_duplicated().sum().alias("key:unique"))
    return {k: int(v) for k, v in frame.select(exprs).row(0, named=True).items()}


def compare(clean: str, raw: str) -> dict[str, Any]:
    """Pandera and the bare checks on clean customers, in alternating rounds: each one's
    median, and the median of the per-round ratios; then the reference-library paths on the
    raw customers file."""
    frame = pl.read_parquet(clean)
    spec = TABLES["customers"]
    today = dt.date.today()
    schema = build_schema(spec, today=today).schema
    schema.validate(frame, lazy=True)  # valid: the stage measures a passing validation
    failing = sum(bare_checks(frame, spec, today).values())
    pandera, bare = paired_rounds(
        lambda: schema.validate(frame, lazy=True), lambda: bare_checks(frame, spec, today)
    )
    return {
        "rows": frame.height,
        "rounds": len(pandera),
        "pandera": statistics.median(pandera),
        "bare_polars": statistics.median(bare),
        "ratio": statistics.median(p / b for p, b in zip(pandera, bare, strict=True)),
        "pandera_rounds": pandera,
        "bare_polars_rounds": bare,
        "bare_failing_values": failing,
        **_library_paths(Path(raw)),
    }


def _library_paths(raw: Path) -> dict[str, Any]:
    """The distinct values the vectorised normalisers leave to the reference libraries, each
    judged once by them, as the cleaner does: their time and their share of the values."""
    from listrak_assets.cleaning.emails import fast_email, library_email
    from listrak_assets.cleaning.phones import fast_e164, library_e164
    from listrak_assets.cleaning.text import clean_text

    frame = pl.read_csv(raw, infer_schema=False, columns=["Mobile Phone", "Email"])
    phones = clean_text(frame["Mobile Phone"]).drop_nulls()
    emails = clean_text(frame["Email"]).drop_nulls()
    distinct_phones, distinct_emails = phones.unique(), emails.unique()
    slow_phones = distinct_phones.filter(fast_e164(distinct_phones, "US").is_null())
    fast = fast_email(distinct_emails)
    slow_emails = distinct_emails.filter(fast.value.is_null() & fast.reason.is_null())
    started = time.perf_counter()
    for value in slow_phones:
        library_e164(value, "US")
    phone_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for value in slow_emails:
        library_email(value)
    email_seconds = time.perf_counter() - started
    return {
        "phonenumbers_seconds": phone_seconds,
        "phonenumbers_share": slow_phones.len() / max(distinct_phones.len(), 1),
        "email_validator_seconds": email_seconds,
        "email_validator_share": slow_emails.len() / max(distinct_emails.len(), 1),
    }
