"""Dates and timestamps in the formats exports use, to ISO 8601 (UTC for timestamps).

Each column is read once: one regular expression with a branch per layout (ISO `2024-05-01`,
compact `20240501`, slashed/dashed/dotted `05/01/2024` in the `date_order` setting's order,
month names `May 1, 2024` and `1 May 2024`), an optional time (24-hour or AM/PM, seconds and
fractions optional) and an optional UTC offset; the parts found are put together as one ISO
text and parsed with one format, so impossible dates (`2024-02-30`) come out null.

- A year is four digits, or two digits read by the `two_digit_years` setting: `pivot` gives
  the latest year ending in those digits that is not after the pivot year (by default this
  year: in 2026, `24` is 2024 and `27` is 1927), `reject` refuses them. A two-digit year is
  never year 24.
- Each column has a plausible range (settings: birthdays 1900-01-01..today, order, ship and
  update times 1990-01-01..tomorrow); a value outside it is rejected, whatever the year.
- A time without an offset is in `source_timezone`, resolved as RFC 5545 does: a time that
  happens twice (autumn overlap) is the first occurrence; a time that never happens (spring
  gap) is read with the offset in force just before the gap, so 02:30 on the spring-forward
  day in New York is 07:30 UTC (03:30 daylight time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import polars as pl

from listrak_assets.cleaning.judged import (
    Judged,
    JudgedExpr,
    Stage,
    judged_on,
    per_distinct,
    repeated,
)
from listrak_assets.formats import DateOrder, TwoDigitYears

DATE_REASON = "invalid_date"
DATETIME_REASON = "invalid_datetime"
TWO_DIGIT_REASON = "two_digit_year"

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}  # fmt: skip

_DATE = (
    r"(?:(?P<iy>\d{4})[-/](?P<im>\d{1,2})[-/](?P<id>\d{1,2})"
    r"|(?P<cy>\d{4})(?P<cm>\d{2})(?P<cd>\d{2})"
    r"|(?P<l1>\d{1,2})(?P<ls>[/.-])(?P<l2>\d{1,2})(?P<lt>[/.-])(?P<ly>\d{4}|\d{2})"
    r"|(?P<nn>[A-Za-z]{3,9})\.? (?P<nd>\d{1,2}),? (?P<ny>\d{4})"
    r"|(?P<dd>\d{1,2}) (?P<dn>[A-Za-z]{3,9})\.? (?P<dy>\d{4}))"
)
_TIME = (
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"(?: ?(?P<P>[AaPp][Mm]))?"
    r"(?P<Z>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
_LAYOUT = f"^{_DATE}{_TIME}$"
_MAX_OFFSET_MINUTES = 14 * 60


@dataclass(frozen=True)
class DateRules:
    """How dates are read: day/month order and what a two-digit year means."""

    order: DateOrder = "MDY"
    two_digit_years: TwoDigitYears = "pivot"
    pivot_year: int = dt.date.today().year


# The layout most exports use, alone: a regex with few groups costs a fifth of `_LAYOUT`,
# so it reads every row first and the full layout only reads what it left.
_ISO_LAYOUT = (
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"(?P<Z>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_PARTS = ("year", "month", "day", "H", "M", "S", "F", "P", "Z")


def _any_layout(groups: pl.Expr, rules: DateRules) -> dict[str, pl.Expr]:
    f = groups.struct.field
    first, second = ("l1", "l2") if rules.order == "MDY" else ("l2", "l1")
    name = pl.coalesce(f("nn"), f("dn")).str.to_lowercase()
    return {
        "year": pl.coalesce(
            f("iy"), f("cy"), pl.when(f("ls") == f("lt")).then(f("ly")), f("ny"), f("dy")
        ),
        "month": pl.coalesce(
            f("im"),
            f("cm"),
            f(first),
            name.replace_strict(_MONTHS, default=None, return_dtype=pl.String),
        ),
        "day": pl.coalesce(f("id"), f("cd"), f(second), f("nd"), f("dd")),
        **{p: f(p) for p in ("H", "M", "S", "F", "P", "Z")},
    }


def _parts(text: pl.Expr, rules: DateRules, scratch: str) -> tuple[dict[str, pl.Expr], list[Stage]]:
    """Year, month, day, time and offset as found in the text (strings; nulls when the text
    fits no layout), as columns of the returned stages. The full layout reads only the rows
    the ISO layout left (the others are masked to null, which costs nothing)."""
    iso, other = scratch + "iso", scratch + "any"
    first: Stage = {iso: text.str.extract_groups(_ISO_LAYOUT)}
    rest = pl.when(text.is_not_null() & pl.col(iso).struct.field("year").is_null()).then(text)
    second: Stage = {other: rest.str.extract_groups(_LAYOUT)}
    found = _any_layout(pl.col(other), rules)
    third: Stage = {
        scratch + p: pl.coalesce(pl.col(iso).struct.field(p), found[p]) for p in _PARTS if p != "P"
    }
    third[scratch + "P"] = found["P"]
    return {p: pl.col(scratch + p) for p in _PARTS}, [first, second, third]


def _year(year: pl.Expr, rules: DateRules) -> pl.Expr:
    """Four digits as written; two digits by the pivot rule (null when they are refused)."""
    short = year.str.len_bytes() == 2
    yy = year.cast(pl.Int32, strict=False)
    if rules.two_digit_years == "reject":
        pivoted = pl.lit(None, pl.Int32)
    else:
        pivot = rules.pivot_year
        pivoted = pivot - ((pivot % 100 - yy) % 100)
    return pl.when(short).then(pivoted).otherwise(yy)


def _iso_date(parts: dict[str, pl.Expr], rules: DateRules) -> pl.Expr:
    return pl.concat_str(
        _year(parts["year"], rules).cast(pl.String).str.zfill(4),
        pl.lit("-"),
        parts["month"].str.zfill(2),
        pl.lit("-"),
        parts["day"].str.zfill(2),
    )


def _refused(parts: dict[str, pl.Expr], rules: DateRules) -> pl.Expr:
    """Whether the year was refused for being two digits."""
    return (parts["year"].str.len_bytes() == 2) & (rules.two_digit_years == "reject")


def _why(text: pl.Expr, refused: pl.Expr, value: pl.Expr, reason: str) -> pl.Expr:
    """`reason`, or `two_digit_year` where `refused`, for every written value without one."""
    why = pl.when(refused.fill_null(False)).then(pl.lit(TWO_DIGIT_REASON)).otherwise(pl.lit(reason))
    return pl.when(text.is_not_null() & value.is_null()).then(why)


def _in_range(
    value: pl.Expr, earliest: dt.date | dt.datetime, latest: dt.date | dt.datetime
) -> pl.Expr:
    return pl.when(value.is_between(earliest, latest)).then(value)


def date_expr(
    text: pl.Expr,
    rules: DateRules,
    earliest: dt.date = dt.date(1900, 1, 1),
    latest: dt.date | None = None,
    *,
    scratch: str = "__date__",
) -> JudgedExpr:
    """A date within [earliest, latest]; a timestamp keeps its date as written. Intermediate
    columns are named with the `scratch` prefix."""
    # A date alone in a common shape (most of them) is read at once; the general layouts
    # read only the distinct texts that left.
    fast = pl.col(scratch + "fast")
    left = pl.when(fast.is_null()).then(text)
    general = pl.col(scratch + "general").struct
    day = pl.coalesce(fast, general.field("day"))
    stages: tuple[Stage, ...] = (
        {
            scratch + "fast": text.map_batches(
                _fast_date(rules), return_dtype=pl.Date, is_elementwise=True
            )
        },
        {scratch + "general": _left_to_general(left, _general_date(rules), _GENERAL_DATE)},
        {scratch + "value": _in_range(day, earliest, latest or dt.date.today())},
    )
    value = pl.col(scratch + "value")
    return JudgedExpr(value, _why(text, general.field("refused"), value, DATE_REASON), stages)


_GENERAL_DATE = pl.Struct({"day": pl.Date, "refused": pl.Boolean})


def _fast_date(rules: DateRules) -> Callable[[pl.Series], pl.Series]:
    """The date of each text alone in one of the shapes most exports write (ISO, year first
    with slashes, slashed with a four-digit year in the `date_order` setting's order,
    compact), else null: the general layouts' date where one of them gives one.

    Each shape's rows are taken out of the column by their length in bytes, then by its
    regex among the rows the shapes before it left, and read by one `strptime`: a text that
    fails a format costs several times one that fits it."""
    month, day = ("%m", "%d") if rules.order == "MDY" else ("%d", "%m")
    shapes = (
        (10, f"^{_YMD}$", "%Y-%m-%d"),
        (10, r"^\d{4}/\d{2}/\d{2}$", "%Y/%m/%d"),
        (10, r"^\d{2}/\d{2}/\d{4}$", f"{month}/{day}/%Y"),
        (8, r"^\d{8}$", "%Y%m%d"),
    )

    def read(text: pl.Series) -> pl.Series:
        out = repeated(None, text.len(), pl.Date, text.name)
        length = text.str.len_bytes()
        index = pl.int_range(0, text.len(), dtype=pl.UInt32, eager=True)
        days: list[pl.Series] = []
        at: list[pl.Series] = []
        for size in (10, 8):
            sized = (length == size).fill_null(False)
            texts, rows = text.filter(sized), index.filter(sized)
            for _, pattern, fmt in (s for s in shapes if s[0] == size):
                if texts.is_empty():
                    break
                # ASCII digits: a text of `size` bytes in the shape has `size` characters.
                fits = texts.str.contains("(?-u)" + pattern)
                days.append(texts.filter(fits).str.to_date(fmt, strict=False, cache=False))
                at.append(rows.filter(fits))
                texts, rows = texts.filter(~fits), rows.filter(~fits)
        if not days:
            return out
        return out.scatter(pl.concat(at), pl.concat(days))

    return read


def _general_date(rules: DateRules) -> Callable[[pl.Series], pl.Series]:
    """The general layouts' date (out of range or not) and whether a two-digit year was
    refused, of each text."""
    parts, stages = _parts(pl.col("_"), rules, "__general__")
    day = _iso_date(parts, rules).str.to_date("%Y-%m-%d", strict=False)
    found = pl.struct(day.alias("day"), _refused(parts, rules).alias("refused")).alias("_")
    return lambda texts: _staged(texts, stages, found)


def _staged(texts: pl.Series, stages: list[Stage], found: pl.Expr) -> pl.Series:
    """`found` of `texts` (named `_`) after `stages`. Eager, on expressions built once: a
    column's batches each call this with a few thousand texts, and building and optimising a
    lazy plan per call cost more than reading them (2 of 4.5 ms for 2,200 texts)."""
    frame = texts.rename("_").to_frame()
    for stage in stages:
        frame = frame.with_columns(**stage)
    return frame.select(found).to_series()


def normalise_date(
    text: pl.Series,
    rules: DateRules,
    earliest: dt.date = dt.date(1900, 1, 1),
    latest: dt.date | None = None,
) -> Judged:
    """`date_expr` over one series."""
    return judged_on(text, lambda t: date_expr(t, rules, earliest, latest))


def _naive(parts: dict[str, pl.Expr], rules: DateRules) -> pl.Expr:
    """Wall-clock time as written (no zone), null where impossible."""
    hour = parts["H"].cast(pl.Int32)
    pm = parts["P"].str.to_lowercase() == "pm"
    hour24 = (
        pl.when(parts["P"].is_null())
        .then(hour)
        .when(hour.is_between(1, 12))
        .then(hour % 12 + pl.when(pm).then(12).otherwise(0))
    )
    fraction = pl.concat_str(parts["F"].fill_null(""), pl.lit("000000")).str.slice(0, 6)
    iso = pl.concat_str(
        _iso_date(parts, rules),
        pl.lit("T"),
        hour24.fill_null(pl.when(parts["H"].is_null()).then(0)).cast(pl.String).str.zfill(2),
        pl.lit(":"),
        parts["M"].fill_null("00"),
        pl.lit(":"),
        parts["S"].fill_null("00"),
        pl.lit("."),
        fraction,
    )
    return iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")


def _offset_minutes(zone: pl.Expr) -> pl.Expr:
    """Minutes east of UTC written in the text (`Z`, `+05:30`, `-0400`, `+01`)."""
    digits = zone.str.replace_all(r"[^0-9]", "")
    minutes = digits.str.slice(0, 2).cast(pl.Int32, strict=False) * 60 + digits.str.slice(
        2, 2
    ).cast(pl.Int32, strict=False).fill_null(0)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    return pl.when(zone.str.to_lowercase() == "z").then(0).otherwise(sign * minutes)


def localised_each(naive: pl.Expr, time_zone: str) -> pl.Expr:
    """UTC instants of wall-clock times in `time_zone` (RFC 5545 for overlaps and gaps),
    each value resolved on its own: the reference `localised` must agree with."""
    utc = pl.Datetime("us", "UTC")
    local = naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
    out = local.dt.convert_time_zone("UTC").cast(utc)
    if time_zone == "UTC":
        return out  # no gaps
    # The offset in force before the gap: the one three hours earlier (gaps are shorter).
    wall = pl.when(naive.is_not_null() & local.is_null()).then(naive)
    before = (wall - dt.timedelta(hours=3)).dt.replace_time_zone(
        time_zone, ambiguous="earliest", non_existent="null"
    )
    offset = before.dt.replace_time_zone(None) - before.dt.convert_time_zone(
        "UTC"
    ).dt.replace_time_zone(None)
    shifted = (wall - offset).dt.replace_time_zone("UTC").cast(utc)
    return pl.coalesce(out, shifted)


_HOUR_US = 3_600_000_000
_UTC = pl.Datetime("us", "UTC")


def _each(naive: pl.Series, time_zone: str) -> pl.Series:
    return naive.to_frame("_").select(localised_each(pl.col("_"), time_zone)).to_series()


def _by_hour(time_zone: str) -> Callable[[pl.Series], pl.Series]:
    """`localised_each` resolved once per distinct wall-clock hour instead of once per value.

    Resolved as `localised_each` does, a wall time's offset from UTC (the offset before the
    gap inside a gap, the first one inside an overlap) changes only where the zone's offset
    changes. Where the first and the last microsecond of an hour get the same offset, the
    hour holds no change (the tz database never changes a zone's offset twice within an
    hour), and every time in it has that offset; the hours where they differ (a change
    inside the hour: half-hour daylight saving, changes at 00:01) are resolved per value."""

    def localise(naive: pl.Series) -> pl.Series:
        micros = naive.cast(pl.Int64)
        hour = micros // _HOUR_US
        hours = hour.unique().drop_nulls()
        first = (hours * _HOUR_US).cast(pl.Datetime("us"))
        last = ((hours + 1) * _HOUR_US - 1).cast(pl.Datetime("us"))
        offset = first.cast(pl.Int64) - _each(first, time_zone).cast(pl.Int64)
        same = offset == last.cast(pl.Int64) - _each(last, time_zone).cast(pl.Int64)
        found = hour.replace_strict(
            hours.filter(same), offset.filter(same), default=None, return_dtype=pl.Int64
        )
        out = (micros - found).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        unresolved = naive.is_not_null() & found.is_null()
        if unresolved.any():
            each = _each(pl.select(pl.when(unresolved).then(naive)).to_series(), time_zone)
            out = out.zip_with(~unresolved, each)
        return out.alias(naive.name)

    return localise


def localised(naive: pl.Expr, time_zone: str) -> pl.Expr:
    """UTC instants of wall-clock times in `time_zone` (RFC 5545 for overlaps and gaps); as
    `localised_each`, at a third of its cost: the zone's rules are applied to the distinct
    hours of the column (a few tens of thousands), not to each of its values."""
    if time_zone == "UTC":
        return localised_each(naive, time_zone)
    return naive.map_batches(_by_hour(time_zone), return_dtype=_UTC, is_elementwise=True)


# The shapes most exports write, exact to the digit: read at fixed places with one `strptime`
# each, with no regex captures. Where one of them gives a time it is the time the general
# path gives (same fields, same year and offset rules); where none does (an impossible date
# such as 2024-02-30, another layout), the general path reads the text as before.
_HMS = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_YMD = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_UTC_SHAPE = f"^{_YMD}T{_HMS}Z$"
_OFFSET_SHAPE = rf"^{_YMD}T{_HMS}[+-]\d{{2}}:[0-5]\d$"
# Slashed dates with a minute time and no zone: `03/07/2024 1:45 PM`, `03/07/24 13:45`.
_CLOCK_SHAPE = r"^\d{2}/\d{2}/\d{4} \d{1,2}:[0-5]\d [AaPp][Mm]$"
_SHORT_SHAPE = r"^\d{2}/\d{2}/\d{2} (?:[01]\d|2[0-3]):[0-5]\d$"
_WALL = pl.Datetime("us")


@dataclass(frozen=True)
class _Shape:
    """One exact shape: the texts of one of its `lengths` in bytes that fit its `pattern`
    and, where another shape has the same length, have its `mark` (a character no other
    shape of that length has; at most one shape of a length has none). `read` gives their
    wall time as written, or their UTC instant where the text writes its offset (`zoned`);
    null where the digits make no time."""

    pattern: str
    lengths: tuple[int, ...]
    read: Callable[[pl.Series], pl.Series]
    mark: str | None = None
    zoned: bool = False


def _strptime(fmt: str) -> Callable[[pl.Series], pl.Series]:
    # No cache: nearly every timestamp is distinct, so a cache is a hash table built for nothing.
    return lambda rows: rows.str.to_datetime(fmt, strict=False, time_unit="us", cache=False)


def _local(rows: pl.Series) -> pl.Series:
    """`2024-05-01 13:45:00` or `2024-05-01T13:45:00`, in the format of the first row's
    separator; the rows that fail it (the other separator, impossible dates) in the other's.
    A column writes one separator: no pass over the rows to tell them apart."""
    formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
    if cast(str, rows[0])[10] == "T":
        formats.reverse()
    found = _strptime(formats[0])(rows)
    missed = found.is_null()
    if not missed.any():
        return found
    return found.scatter(missed.arg_true(), _strptime(formats[1])(rows.filter(missed)))


def _written_utc(rows: pl.Series) -> pl.Series:
    return _strptime("%Y-%m-%dT%H:%M:%SZ")(rows).dt.replace_time_zone("UTC")


def _written_offset(rows: pl.Series) -> pl.Series:
    """`...T13:45:00-04:00`: the wall time less the offset, null past 14 hours."""
    # A column writes few offsets, most often one: the first row's is read by a format that
    # writes it (no slice, no arithmetic per row), any other by slicing it off.
    first = cast(str, rows[0])[19:]
    same = rows.str.ends_with(first)
    if same.all():
        return _at_offset(_strptime(f"%Y-%m-%dT%H:%M:%S{first}")(rows), _east(first))
    wall = _strptime("%Y-%m-%dT%H:%M:%S")(rows.str.slice(0, 19))
    zone = rows.str.slice(19)
    zones = zone.unique()
    east = pl.Series([_east(z) for z in zones], dtype=pl.Int64)
    return _at_offset(wall, zone.replace_strict(zones, east, return_dtype=pl.Int64))


def _east(zone: str) -> int:
    """Minutes east of UTC of `+05:30`, `-04:00`."""
    minutes = int(zone[1:3]) * 60 + int(zone[4:6])
    return -minutes if zone.startswith("-") else minutes


def _at_offset(wall: pl.Series, east: pl.Series | int) -> pl.Series:
    """The UTC instants of wall times `east` minutes east of UTC, null past 14 hours."""
    utc = (wall.cast(pl.Int64) - east * 60_000_000).cast(_WALL).dt.replace_time_zone("UTC")
    if isinstance(east, int):
        return (
            utc
            if abs(east) <= _MAX_OFFSET_MINUTES
            else repeated(None, wall.len(), utc.dtype, utc.name)
        )
    return (
        utc.to_frame("_")
        .select(pl.when(pl.lit(east.abs()) <= _MAX_OFFSET_MINUTES).then(pl.col("_")))
        .to_series()
    )


def _pivoted(rules: DateRules, month: str, day: str) -> Callable[[pl.Series], pl.Series]:
    """`03/07/24 13:45`, its two-digit year by the pivot rule."""
    # The pivot rule puts one of two centuries before the two digits (a pivot year is
    # 100..9999): the pivot's own up to its last two digits, the one before after them.
    # `%y` puts 20 before 00..69 and 19 before 70..99: where it agrees (in most columns, every
    # row) its reading stands, elsewhere the century is written in and the text read again.
    # It agrees where its year is one of the pivot rule's hundred (up to the pivot): told by
    # comparing the instant with their ends, with no year taken out of every row.
    # A date `%y` finds impossible is impossible in every century (its 2000 is a leap year,
    # and other years ending in the same digits are leap years alike).
    pivot = rules.pivot_year
    as_is = _strptime(f"{month}/{day}/%y %H:%M")
    with_century = _strptime(f"{month}/{day}/%Y %H:%M")
    first = dt.datetime(pivot - 99, 1, 1)
    after = dt.datetime(pivot + 1, 1, 1) if pivot < dt.MAXYEAR else None

    def read(rows: pl.Series) -> pl.Series:
        found = as_is(rows)
        outside = found < first if after is None else (found < first) | (found >= after)
        again = outside.fill_null(False)
        if not again.any():
            return found
        year = found.filter(again).dt.year().cast(pl.Int64)
        century = pivot // 100 - (year % 100 > pivot % 100).cast(pl.Int64)
        rows, cc = rows.filter(again), century.cast(pl.String).str.zfill(2)
        written = rows.str.slice(0, 6) + cc + rows.str.slice(6)
        return found.scatter(again.arg_true(), with_century(written))

    return read


_TWELVE_HOURS_US = 12 * _HOUR_US


def _clock(month: str, day: str, *, one_digit_hour: bool) -> Callable[[pl.Series], pl.Series]:
    """`03/07/2024 1:45 PM` (`one_digit_hour`, 18 bytes) or `03/07/2024 11:45 PM` (19 bytes),
    as `%I:%M %p` reads it: hour 1..12, `12 AM` is midnight, `12 PM` noon.

    `%I` and `%p` have no place in polars' fixed-place parser, and chrono reads a text at four
    times its cost: the hour is read as `%H` at fixed places instead (a one-digit hour given
    its zero first), and the afternoon's 12 hours added."""
    wall_format = f"{month}/{day}/%Y %H:%M"

    def read(rows: pl.Series) -> pl.Series:
        if one_digit_hour:  # the first space is the one before the hour
            rows = rows.str.replace(" ", " 0", literal=True, n=1)
        wall = _strptime(wall_format)(rows.str.head(16))
        hour = wall.dt.hour()
        # The shape ends in [AaPp][Mm]: a P anywhere is the afternoon.
        pm = rows.str.contains("(?-u)[Pp]").cast(pl.Int64)
        shift = (pm - (hour == 12).cast(pl.Int64)) * _TWELVE_HOURS_US
        twelve = (wall.cast(pl.Int64) + shift).cast(_WALL)
        return twelve.zip_with(
            hour.is_between(1, 12), repeated(None, wall.len(), wall.dtype, wall.name)
        )

    return read


def _shapes(rules: DateRules) -> tuple[_Shape, ...]:
    """The exact shapes under `rules`: day and month of slashed dates in the `date_order`
    setting's order, their two-digit years by the pivot rule (refused ones are left to the
    general path, which says why)."""
    month, day = ("%m", "%d") if rules.order == "MDY" else ("%d", "%m")
    shapes = [
        _Shape(f"^{_YMD}[T ]{_HMS}$", (19,), _local),
        _Shape(_UTC_SHAPE, (20,), _written_utc, zoned=True),
        _Shape(_OFFSET_SHAPE, (25,), _written_offset, zoned=True),
        # The hour has one digit (18 bytes) or two (19).
        _Shape(_CLOCK_SHAPE, (18,), _clock(month, day, one_digit_hour=True)),
        _Shape(_CLOCK_SHAPE, (19,), _clock(month, day, one_digit_hour=False), mark="/"),
    ]
    if rules.two_digit_years == "pivot":
        shapes.append(_Shape(_SHORT_SHAPE, (14,), _pivoted(rules, month, day)))
    return tuple(shapes)


def _fast_instant(rules: DateRules, source_timezone: str) -> Callable[[pl.Series], pl.Series]:
    """The UTC instant of each text in one of the exact shapes, else null.

    One regex tells which texts are in a shape; with `\\d` read as an ASCII digit, such a
    text's length in bytes (and a mark, where two shapes have a length) tells which. Each
    shape's rows are taken out of the column and read alone: polars' string kernels work on
    a masked (null) row's bytes as on any other, and `strptime` on a text that fails it
    costs several times one that fits. Wall times are localised together, then every
    instant is put back in its row."""
    shapes = _shapes(rules)
    exact = "(?-u)" + "|".join(dict.fromkeys(s.pattern for s in shapes))
    by_length: dict[int, list[_Shape]] = {}
    for shape in sorted(shapes, key=lambda s: s.mark is None):  # the unmarked one last
        for size in shape.lengths:
            by_length.setdefault(size, []).append(shape)

    def read(text: pl.Series) -> pl.Series:
        out = repeated(None, text.len(), _UTC, text.name)
        fits = text.str.contains(exact).fill_null(False)
        if not fits.any():
            return out
        length = text.str.len_bytes()
        index = pl.int_range(0, text.len(), dtype=pl.UInt32, eager=True)
        walls: list[pl.Series] = []
        wall_rows: list[pl.Series] = []
        instants: list[pl.Series] = []
        instant_rows: list[pl.Series] = []
        for size, alike in by_length.items():
            sized = fits & (length == size)
            if not sized.any():
                continue
            texts, rows = text.filter(sized), index.filter(sized)
            for shape in alike:
                taken, at = texts, rows
                if shape is not alike[-1]:  # the last one takes what the others left
                    marked = texts.str.contains(cast(str, shape.mark), literal=True)
                    if not marked.any():
                        continue
                    taken, at = texts.filter(marked), rows.filter(marked)
                    texts, rows = texts.filter(~marked), rows.filter(~marked)
                if taken.is_empty():
                    continue
                (instants if shape.zoned else walls).append(shape.read(taken))
                (instant_rows if shape.zoned else wall_rows).append(at)
        if walls:
            instants.append(_localise(pl.concat(walls), source_timezone))
            instant_rows.append(pl.concat(wall_rows))
        if not instants:
            return out
        return out.scatter(pl.concat(instant_rows), pl.concat(instants))

    return read


def _left_to_general(
    left: pl.Expr, read: Callable[[pl.Series], pl.Series], dtype: pl.DataType
) -> pl.Expr:
    """`read` once per distinct text a fast path left (null elsewhere). Those rows are taken
    out of the column first: `per_distinct` maps every row of its input to its text's
    reading, and a column a fast path left is mostly null."""
    return _on_present(left, lambda t: per_distinct(t, read, dtype), dtype)


def _on_present(text: pl.Expr, read: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> pl.Expr:
    """`read` over the non-null texts only (null where the text is null). polars' string
    kernels (`str.contains`, `str.slice`, `concat_str` ...) work on a null row's bytes as on
    any other, and `replace_strict` reads every row: a column the fast path left mostly null
    is taken out first."""

    def present_only(column: pl.Series) -> pl.Series:
        present = column.is_not_null()
        out = repeated(None, column.len(), dtype, column.name)
        if not present.any():
            return out
        found = column.filter(present).to_frame("_").select(read(pl.col("_"))).to_series()
        # Gathered, not scattered: polars scatters no structs. A null index gives a null row.
        nth = present.cum_sum().cast(pl.UInt32) - 1
        return found.gather(nth.zip_with(present, repeated(None, len(nth), pl.UInt32))).alias(
            column.name
        )

    return text.map_batches(present_only, return_dtype=dtype, is_elementwise=True)


def _localise(walls: pl.Series, time_zone: str) -> pl.Series:
    if time_zone == "UTC":
        return walls.dt.replace_time_zone("UTC")  # no gaps, no overlaps
    return _by_hour(time_zone)(walls)


def datetime_expr(
    text: pl.Expr,
    rules: DateRules,
    source_timezone: str = "UTC",
    earliest: dt.datetime | None = None,
    latest: dt.datetime | None = None,
    *,
    scratch: str = "__datetime__",
) -> JudgedExpr:
    """A UTC timestamp within [earliest, latest]. Offsets in the text win; text without one
    is in `source_timezone`. Intermediate columns are named with the `scratch` prefix."""
    # The common exact shapes (most of them) are read at once; the general layouts read only
    # the distinct texts that left.
    fast = pl.col(scratch + "fast")
    left = pl.when(fast.is_null()).then(text)
    general = pl.col(scratch + "general").struct
    value = pl.coalesce(fast, general.field("instant"))
    if earliest is not None or latest is not None:
        lo = earliest or dt.datetime(1, 1, 1, tzinfo=dt.UTC)
        hi = latest or dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
        value = _in_range(value, lo, hi)
    fast_instant = _fast_instant(rules, source_timezone)
    general_instant = _general_instant(rules, source_timezone)
    stages: tuple[Stage, ...] = (
        {scratch + "fast": text.map_batches(fast_instant, return_dtype=_UTC, is_elementwise=True)},
        {scratch + "general": _left_to_general(left, general_instant, _GENERAL_INSTANT)},
        {scratch + "value": value},
    )
    value = pl.col(scratch + "value")
    return JudgedExpr(value, _why(text, general.field("refused"), value, DATETIME_REASON), stages)


_GENERAL_INSTANT = pl.Struct({"instant": pl.Datetime("us", "UTC"), "refused": pl.Boolean})


def _general_instant(rules: DateRules, source_timezone: str) -> Callable[[pl.Series], pl.Series]:
    """The general layouts' UTC instant (out of range or not) and whether a two-digit year
    was refused, of each text."""
    parts, stages = _parts(pl.col("_"), rules, "__general__")
    naive, offset = pl.col("__general__naive"), pl.col("__general__offset")
    stages.append(
        {
            "__general__naive": _naive(parts, rules),
            "__general__offset": _offset_minutes(parts["Z"]),
        }
    )
    zone = parts["Z"]
    written = pl.when(offset.abs() <= _MAX_OFFSET_MINUTES).then(naive - pl.duration(minutes=offset))
    local = localised(pl.when(zone.is_null()).then(naive), source_timezone)
    instant = pl.when(zone.is_null()).then(local).otherwise(written.dt.replace_time_zone("UTC"))
    found = pl.struct(instant.alias("instant"), _refused(parts, rules).alias("refused")).alias("_")
    return lambda texts: _staged(texts, stages, found)


def normalise_datetime(
    text: pl.Series,
    rules: DateRules,
    source_timezone: str = "UTC",
    earliest: dt.datetime | None = None,
    latest: dt.datetime | None = None,
) -> Judged:
    """`datetime_expr` over one series."""
    return judged_on(text, lambda t: datetime_expr(t, rules, source_timezone, earliest, latest))
