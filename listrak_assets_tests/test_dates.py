"""Dates and timestamps: two-digit years, plausible ranges, daylight-saving edges, and
Python's own `datetime`/`zoneinfo` as the oracle on generated values."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from listrak_assets.cleaning.dates import (
    DateRules,
    _fast_instant,  # its misses show in no output
    localised,
    localised_each,
    normalise_date,
    normalise_datetime,
)

UTC = dt.UTC
RULES = DateRules(pivot_year=2026)
TODAY = dt.date(2026, 12, 1)
EVENTS = (dt.datetime(1990, 1, 1, tzinfo=UTC), dt.datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC))


def _date(texts: list[str | None], rules: DateRules = RULES) -> tuple[list, list]:
    judged = normalise_date(pl.Series("d", texts, dtype=pl.String), rules, latest=TODAY)
    return judged.value.to_list(), judged.reason.to_list()


def _time(
    texts: list[str | None], zone: str = "UTC", rules: DateRules = RULES
) -> tuple[list, list]:
    judged = normalise_datetime(pl.Series("t", texts, dtype=pl.String), rules, zone, *EVENTS)
    return judged.value.to_list(), judged.reason.to_list()


# (as written, expected date or None)
DATES = [
    ("03/07/24", dt.date(2024, 3, 7)),  # two digits: the latest year ending in 24 up to 2026
    ("03/07/27", dt.date(1927, 3, 7)),
    ("03/07/1984", dt.date(1984, 3, 7)),
    ("0024-03-07", None),  # year 24 is outside 1900..today, never a birthday
    ("-0001-01-01", None),  # rejects the value, never crashes the table
    ("9999-12-31", None),
    ("1899-12-31", None),
    ("2026-12-02", None),  # tomorrow
    ("2024-02-29", dt.date(2024, 2, 29)),
    ("2023-02-29", None),
    ("13/01/1990", None),  # month 13 under MDY
    ("Sept 7, 1984", dt.date(1984, 9, 7)),
    ("7 Mar 1984", dt.date(1984, 3, 7)),
    ("1984-03-07 23:59:59+14:00", dt.date(1984, 3, 7)),  # a timestamp keeps its written date
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_real_world_dates(text: str, expected: dt.date | None) -> None:
    values, reasons = _date([text])
    assert values == [expected]
    assert reasons == [None if expected else "invalid_date"]


def test_two_digit_years_can_be_refused() -> None:
    refuse = DateRules(two_digit_years="reject", pivot_year=2026)
    assert _date(["03/07/24", "03/07/2024"], refuse) == (
        [None, dt.date(2024, 3, 7)],
        ["two_digit_year", None],
    )
    assert _time(["03/07/24 13:45"], rules=refuse) == ([None], ["two_digit_year"])


def test_the_pivot_year_is_a_setting() -> None:
    assert _date(["03/07/15"], DateRules(pivot_year=2026))[0] == [dt.date(2015, 3, 7)]
    assert _date(["03/07/15"], DateRules(pivot_year=2010))[0] == [dt.date(1915, 3, 7)]
    # The pivot year's own two digits are that year, in the timestamp shortcut as well.
    pivot = DateRules(pivot_year=2010)
    assert (
        _time(["03/07/10 13:45", "03/07/10 13:45:00"], rules=pivot)[0]
        == [dt.datetime(2010, 3, 7, 13, 45, tzinfo=UTC)] * 2
    )
    assert _time(["03/07/99 13:45"], rules=DateRules(pivot_year=2098))[0] == [
        dt.datetime(1999, 3, 7, 13, 45, tzinfo=UTC)
    ]


def test_day_first_order() -> None:
    assert _date(["03/07/1984", "03.07.84"], DateRules("DMY", pivot_year=2026))[0] == [
        dt.date(1984, 7, 3),
        dt.date(1984, 7, 3),
    ]


# (as written, source time zone, expected UTC instant or None)
TIMES = [
    ("2024-05-01T13:45:00Z", "UTC", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("2024-05-01T09:45:00-0400", "UTC", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("05/01/2024 1:45 PM", "UTC", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("05/01/2024 12:00 AM", "UTC", dt.datetime(2024, 5, 1, 0, 0, tzinfo=UTC)),
    ("05/01/2024 0:45 PM", "UTC", None),  # a 12-hour clock has no hour 0
    ("05/01/2024 0:45:00 PM", "UTC", None),  # (the same in the general layouts)
    ("05/01/24 13:45", "UTC", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    # Spring forward in New York: 02:30 never happens; read with the offset before the gap.
    ("2024-03-10 02:30:00", "America/New_York", dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)),
    # Fall back: 01:30 happens twice; the first one (daylight time) is meant.
    ("2024-11-03 01:30:00", "America/New_York", dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC)),
    ("2024-03-31 02:30:00", "Europe/Berlin", dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),
    # A half-hour gap: 02:15 is read at +10:30, the offset before it.
    ("2024-10-06 02:15:00", "Australia/Lord_Howe", dt.datetime(2024, 10, 5, 15, 45, tzinfo=UTC)),
    ("yesterday", "UTC", None),
    ("2099-01-01T00:00:00Z", "UTC", None),  # after tomorrow
    ("-0001-01-01T00:00:00Z", "UTC", None),
    ("0001-01-01", "UTC", None),
    ("1989-12-31T23:59:59Z", "UTC", None),
    ("2024-05-01T24:00:00", "UTC", None),
    ("2024-05-01T13:45:00+25:00", "UTC", None),
    ("2024-05-01 13:45 XM", "UTC", None),
]


@pytest.mark.parametrize(("text", "zone", "expected"), TIMES)
def test_real_world_timestamps(text: str, zone: str, expected: dt.datetime | None) -> None:
    values, reasons = _time([text], zone)
    assert values == [expected]
    assert reasons == [None if expected else "invalid_datetime"]


# --- properties -----------------------------------------------------------------------------

_DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%B %d, %Y", "%b %d %Y", "%d %B %Y", "%Y%m%d"]


@settings(max_examples=150, deadline=None)
@given(day=st.dates(dt.date(1900, 1, 1), TODAY), fmt=st.sampled_from(_DATE_FORMATS))
def test_any_written_date_in_range_is_that_date_and_stable(day: dt.date, fmt: str) -> None:
    values, _ = _date([day.strftime(fmt)])
    assert values == [day]
    assert _date([day.isoformat()])[0] == [day]


@settings(max_examples=100, deadline=None)
@given(day=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
def test_out_of_range_dates_are_rejected_never_raised(day: dt.date) -> None:
    values, reasons = _date([day.isoformat()])
    inside = dt.date(1900, 1, 1) <= day <= TODAY
    assert values == [day if inside else None]
    assert reasons == [None if inside else "invalid_date"]


_ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]


@settings(max_examples=150, deadline=None)
@given(
    wall=st.datetimes(dt.datetime(1991, 1, 1), dt.datetime(2026, 11, 30)),
    zone=st.sampled_from(_ZONES),
)
def test_wall_clock_times_resolve_as_zoneinfo_does(wall: dt.datetime, zone: str) -> None:
    """Python's zoneinfo with fold=0 is RFC 5545's rule: first occurrence in an overlap, the
    offset before the gap in a gap."""
    # hypothesis draws fold=1 too, which zoneinfo reads as the second occurrence.
    wall = wall.replace(microsecond=wall.microsecond // 1000 * 1000, fold=0)
    expected = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    values, _ = _time([wall.isoformat(sep=" ", timespec="milliseconds")], zone)
    assert values == [expected]


def _transitions(zone: str, year: int) -> list[dt.datetime]:
    """Wall-clock hours of `year` around which `zone` changes its offset."""
    tz, out = ZoneInfo(zone), []
    start = dt.datetime(year, 1, 1, tzinfo=UTC)
    for hour in range(366 * 24):
        a = (start + dt.timedelta(hours=hour)).astimezone(tz)
        b = (start + dt.timedelta(hours=hour + 1)).astimezone(tz)
        if a.utcoffset() != b.utcoffset():
            out.append(b.replace(tzinfo=None, minute=0))
    return out


@pytest.mark.parametrize("zone", [*_ZONES, "Australia/Lord_Howe"])
def test_every_minute_around_each_change_of_offset_resolves_as_zoneinfo_does(zone: str) -> None:
    walls = [
        change + dt.timedelta(minutes=m)
        for change in _transitions(zone, 2024)
        for m in range(-150, 151, 5)
    ]
    expected = [w.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) for w in walls]
    values, _ = _time([w.isoformat(sep=" ") for w in walls], zone)
    assert values == expected


@functools.cache
def _changes_of_offset(zone: str, year: int) -> list[dt.datetime]:
    """Wall-clock times of `year`, to the minute, at which `zone` changes its offset: the
    wall time of each change in the offset before it and in the offset after it."""
    tz, out = ZoneInfo(zone), []
    start = dt.datetime(year, 1, 1, tzinfo=UTC)
    for hour in range(366 * 24):
        at = start + dt.timedelta(hours=hour)
        if at.astimezone(tz).utcoffset() == (at + dt.timedelta(hours=1)).astimezone(tz).utcoffset():
            continue
        for minute in range(60):
            a = at + dt.timedelta(minutes=minute)
            b = a + dt.timedelta(minutes=1)
            before, after = a.astimezone(tz).utcoffset(), b.astimezone(tz).utcoffset()
            if before != after and before is not None and after is not None:
                utc = b.replace(tzinfo=None)
                out += [utc + before, utc + after]
    return out


# Changes of offset on the hour (New York, Berlin, Tehran at midnight) and inside the hour:
# Lord Howe's half-hour daylight saving starts at 02:00 and ends at 02:00 daylight time
# (01:30 standard), St John's changed at 00:01 until 2010.
_CHANGES = [
    ("Australia/Lord_Howe", 2024),
    ("America/St_Johns", 2008),
    ("America/St_Johns", 2024),
    ("America/New_York", 2024),
    ("Europe/Berlin", 2024),
    ("Asia/Tehran", 2020),
]


@settings(max_examples=150, deadline=None)
@given(
    where=st.sampled_from(_CHANGES),
    picks=st.lists(
        st.tuples(st.integers(0, 3), st.integers(-150 * 60, 150 * 60), st.integers(0, 999_999)),
        min_size=1,
        max_size=25,
    ),
)
def test_localising_by_the_hour_resolves_every_time_as_alone(
    where: tuple[str, int], picks: list[tuple[int, int, int]]
) -> None:
    """Wall times are localised once per distinct hour; an hour inside which the offset
    changes is resolved per value. Times around every change of offset, gaps and overlaps
    included, resolve as each resolves on its own."""
    zone, year = where
    changes = _changes_of_offset(zone, year)
    walls = [
        changes[i % len(changes)] + dt.timedelta(seconds=s, microseconds=us) for i, s, us in picks
    ]
    frame = pl.DataFrame({"w": [*walls, None]}, schema={"w": pl.Datetime("us")})
    by_hour = frame.select(localised(pl.col("w"), zone)).to_series().to_list()
    each = frame.select(localised_each(pl.col("w"), zone)).to_series().to_list()
    assert by_hour == each, walls
    assert by_hour[:-1] == [w.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) for w in walls]


@settings(max_examples=150, deadline=None)
@given(
    instant=st.datetimes(
        dt.datetime(1991, 1, 1), dt.datetime(2026, 11, 30), timezones=st.just(UTC)
    ),
    minutes=st.integers(-12 * 60, 14 * 60),
)
def test_written_offsets_win_and_output_is_stable(instant: dt.datetime, minutes: int) -> None:
    instant = instant.replace(microsecond=0)
    local = instant.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    values, _ = _time([local.isoformat()], "America/New_York")
    assert values == [instant]
    assert _time([instant.isoformat()])[0] == [instant]


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.none() | st.text(max_size=30), max_size=10))
def test_never_raises_and_every_missing_value_has_a_reason(texts: list[str | None]) -> None:
    for values, reasons in (_date(texts), _time(texts, "Europe/Berlin")):
        for text, value, reason in zip(texts, values, reasons, strict=True):
            assert (reason is not None) == (text is not None and value is None)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.tuples(
        st.integers(1985, 2030),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 60),
        st.integers(0, 60),
    ),
    zone=st.sampled_from(["Z", "", " ", "+", "-"]),
    offset=st.tuples(st.integers(0, 16), st.integers(0, 60)),
    source=st.sampled_from(_ZONES),
)
def test_the_common_shapes_read_as_the_general_layouts_do(
    fields: tuple[int, ...], zone: str, offset: tuple[int, int], source: str
) -> None:
    """The exact shapes most exports write (`2024-05-01T13:45:00Z`, `...-04:00`, `2024-05-01
    13:45:00`) take a shortcut; the same text with a zero fraction of a second takes the
    general layouts. Both give the same instant and reason, whatever the digits (impossible
    dates, hour 24, offsets past 14 hours included)."""
    year, month, day, hour, minute, second = fields
    wall = f"{year:04}-{month:02}-{day:02}{'T' if zone != ' ' else ' '}{hour:02}:{minute:02}"
    hours, minutes = offset
    signed = f"{hours:02}:{minutes:02}"
    written = {"Z": "Z", "": "", " ": "", "+": f"+{signed}", "-": f"-{signed}"}
    short = f"{wall}:{second:02}{written[zone]}"
    general = f"{wall}:{second:02}.000{written[zone]}"
    assert _time([short], source) == _time([general], source)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.tuples(
        st.integers(0, 13), st.integers(0, 32), st.integers(0, 99), st.integers(0, 25)
    ),
    minute=st.integers(0, 60),
    long_year=st.integers(1985, 2030),
    clock=st.sampled_from(["", "AM", "PM", "am", "pm", "Pm", "aM"]),
    rules=st.sampled_from(
        [
            RULES,
            DateRules("DMY", "pivot", 2026),
            DateRules("MDY", "reject", 2026),
            DateRules("MDY", "pivot", 2050),
            DateRules("DMY", "pivot", 2000),
            DateRules("MDY", "pivot", 150),
        ]
    ),
    source=st.sampled_from(_ZONES),
)
def test_slashed_shapes_read_as_the_general_layouts_do(
    fields: tuple[int, int, int, int],
    minute: int,
    long_year: int,
    clock: str,
    rules: DateRules,
    source: str,
) -> None:
    """`03/07/2024 1:45 PM` and `03/07/24 13:45` take a shortcut; the same text with seconds
    takes the general layouts. Both give the same instant and reason under every order and
    two-digit-year setting (impossible days, hours and minutes included)."""
    first, second, short_year, hour = fields
    if clock:
        text = f"{first:02}/{second:02}/{long_year} {hour}:{minute:02}"
        short, general = f"{text} {clock}", f"{text}:00 {clock}"
    else:
        text = f"{first:02}/{second:02}/{short_year:02} {hour:02}:{minute:02}"
        short, general = text, f"{text}:00"
    assert _time([short], source, rules) == _time([general], source, rules)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.tuples(
        st.integers(1890, 2030) | st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32)
    ),
    rules=st.sampled_from([RULES, DateRules("DMY", "reject", 2026)]),
)
def test_iso_dates_read_as_the_general_layouts_do(
    fields: tuple[int, int, int], rules: DateRules
) -> None:
    """`2024-05-01` alone takes a shortcut; with a time after it, the general layouts read
    it (a timestamp keeps its written date). Both give the same date and reason."""
    year, month, day = fields
    text = f"{year:04}-{month:02}-{day:02}"
    assert _date([text], rules) == _date([f"{text} 00:00"], rules)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.tuples(
        st.integers(1890, 2030) | st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)
    ),
    shape=st.sampled_from(["{y}/{m}/{d}", "{m}/{d}/{y}", "{d}/{m}/{y}", "{y}{m}{d}"]),
    rules=st.sampled_from([RULES, DateRules("DMY", "reject", 2026)]),
)
def test_common_date_shapes_read_as_the_general_layouts_do(
    fields: tuple[int, int, int], shape: str, rules: DateRules
) -> None:
    """`1984/03/07`, `03/07/1984` (in the `date_order` setting's order) and `19840307` alone
    take a shortcut; with a time after them the general layouts read them. Both give the
    same date and reason (impossible months and days, year 0 included)."""
    year, month, day = fields
    text = shape.format(y=f"{year:04}", m=f"{month:02}", d=f"{day:02}")
    assert _date([text], rules) == _date([f"{text} 00:00"], rules)


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.none()
        | st.sampled_from(
            [text for text, _ in DATES]
            + ["2024-05-01", "1984-03-07 10:00", "x", "1984/03/07", "03/07/1984", "19840307"]
            + ["07/03/1984", "2023/02/29", "19841301", "1984/3/7"]
        )
        | st.text("0123456789-/. ", max_size=10),
        max_size=12,
    ),
    rules=st.sampled_from([RULES, DateRules("DMY", "reject", 2026)]),
)
def test_a_column_reads_each_date_as_it_reads_it_alone(
    texts: list[str | None], rules: DateRules
) -> None:
    """The general layouts read the distinct texts the ISO shortcut left and scatter them
    back: repeats, nulls and shortcut rows around them change nothing (reasons included)."""
    value, reason = _date(texts, rules)
    alone = [_date([text], rules) for text in texts]
    assert value == [v[0] for v, _ in alone], texts
    assert reason == [r[0] for _, r in alone], texts


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.none()
        | st.sampled_from(
            [text for text, _, _ in TIMES]
            + ["2024-05-01T13:45:00Z", "2024-03-10 02:30:00", "03/07/24 13:45:00.5", "x"]
            + ["03/07/24 13:45", "12/31/2024 1:45 PM", "2024-03-10 02:30:00+01:00"]
        )
        | st.text("0123456789-/:.TZ+ ", max_size=22),
        max_size=12,
    ),
    rules=st.sampled_from([RULES, DateRules("DMY", "reject", 2026)]),
    source=st.sampled_from(_ZONES),
)
def test_a_column_reads_each_timestamp_as_it_reads_it_alone(
    texts: list[str | None], rules: DateRules, source: str
) -> None:
    """The general layouts read the distinct texts the exact shapes left and scatter them
    back: repeats, nulls and shortcut rows around them change nothing (reasons included)."""
    value, reason = _time(texts, source, rules)
    alone = [_time([text], source, rules) for text in texts]
    assert value == [v[0] for v, _ in alone], texts
    assert reason == [r[0] for _, r in alone], texts


def _exact_shape(
    fields: tuple[int, int, int, int, int, int], shape: int, zone: tuple[int, int, int]
) -> str:
    """A text in one of the exact shapes the timestamp shortcut reads (`shape` picks which),
    its digits as drawn: impossible dates, hours, minutes and offsets included."""
    year, month, day, hour, minute, second = fields
    sign, hours, minutes = zone
    date, time = f"{year:04}-{month:02}-{day:02}", f"{hour:02}:{minute:02}:{second:02}"
    slashed = f"{month:02}/{day:02}"
    return [
        f"{date} {time}",
        f"{date}T{time}",
        f"{date}T{time}Z",
        f"{date}T{time}{'+-'[sign]}{hours:02}:{minutes:02}",
        f"{slashed}/{year:04} {hour % 13}:{minute:02} {['AM', 'pm'][sign]}",
        f"{slashed}/{year:04} {hour:02}:{minute:02} {['am', 'PM'][sign]}",
        f"{slashed}/{year % 100:02} {hour:02}:{minute:02}",
    ][shape]


_EXACT_SHAPES = st.builds(
    _exact_shape,
    st.tuples(
        st.integers(1900, 2099) | st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 60),
    ),
    st.integers(0, 6),
    st.tuples(st.integers(0, 1), st.sampled_from([0, 4, 5, 14, 15]), st.sampled_from([0, 30])),
)


# Two-digit years in both centuries the pivot rule gives (under a pivot of 150 `%y` agrees
# with neither), among other shapes.
@example(
    texts=["03/07/24 13:45", "2024-05-01T13:45:00+05:30", "04/08/25 10:00", "12/01/99 23:59"],
    rules=DateRules("DMY", "pivot", 150),
    source="UTC",
)
@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.none()
        | _EXACT_SHAPES
        | _EXACT_SHAPES
        | _EXACT_SHAPES
        | st.sampled_from(["x", "2024-05-01T13:45:0\u0663Z", "05/01/2024 1:45\u00a0PM"]),
        min_size=2,
        max_size=24,
    ),
    rules=st.sampled_from(
        [
            RULES,
            DateRules("DMY", "reject", 2026),
            DateRules("MDY", "pivot", 2050),
            DateRules("DMY", "pivot", 150),
        ]
    ),
    source=st.sampled_from(["UTC", "America/New_York"]),
)
def test_a_column_of_exact_shapes_reads_each_text_as_it_reads_it_alone(
    texts: list[str | None], rules: DateRules, source: str
) -> None:
    """The shortcut takes each shape's rows out of the column, reads the commonest offset
    by a format that writes it and two-digit years `%y` reads in another century again, and
    puts every row back: a column of every shape mixed (several offsets, both centuries,
    impossible digits, non-ASCII digits) reads each text as that text alone. No range: a
    two-digit year read in the wrong century would be out of any range of a few decades
    (instants compared as microseconds: Python has no year 0)."""

    def read(texts: list[str | None]) -> tuple[list, list]:
        judged = normalise_datetime(pl.Series("t", texts, dtype=pl.String), rules, source)
        return judged.value.cast(pl.Int64).to_list(), judged.reason.to_list()

    value, reason = read(texts)
    alone = [read([text]) for text in texts]
    assert value == [v[0] for v, _ in alone], texts
    assert reason == [r[0] for _, r in alone], texts


@settings(max_examples=100, deadline=None)
@given(
    instant=st.datetimes(dt.datetime(1991, 1, 1), dt.datetime(2026, 11, 30)),
    shape=st.integers(0, 6),
    sign=st.integers(0, 1),
)
def test_the_shortcut_reads_every_possible_text_in_its_shapes(
    instant: dt.datetime, shape: int, sign: int
) -> None:
    """A text the shortcut leaves null still comes out right (the general layouts read it),
    only at several times the cost: every possible time in an exact shape is read by it."""
    fields = (instant.year, instant.month, instant.day, instant.hour, instant.minute, 0)
    if shape in (4, 5):  # `1:45 PM`, `01:45 PM`: the hour is 1..12
        fields = (*fields[:3], instant.hour % 12 + 1, *fields[4:])
    text = _exact_shape(fields, shape, (sign, 4, 30))
    read = _fast_instant(RULES, "America/New_York")
    assert read(pl.Series([text])).null_count() == 0, text


@pytest.mark.parametrize("pivot", [150, 1969, 2000, 2026, 2069, 2070, 9999])
def test_every_two_digit_year_is_the_latest_up_to_the_pivot(pivot: int) -> None:
    """`03/07/27 13:45` under a pivot: the latest year ending in those digits that is not
    after the pivot, for all hundred of them (the shortcut tells which ones `%y` reads in
    another century by the instant it gives)."""
    texts = pl.Series([f"03/07/{yy:02} 13:45" for yy in range(100)])
    judged = normalise_datetime(texts, DateRules("MDY", "pivot", pivot))
    expected = [pivot - (pivot - yy) % 100 for yy in range(100)]
    assert judged.value.dt.year().to_list() == expected
