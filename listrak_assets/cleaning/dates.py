"""Dates and timestamps in the formats exports use, to ISO 8601 (UTC for timestamps)."""

from collections.abc import Callable, Sequence

import polars as pl

from listrak_assets.cleaning.text import fix_some
from listrak_assets.formats import DateOrder

Parser = Callable[[pl.Series], pl.Series]

_ISO_DATES = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y",
    "%d %B %Y", "%d %b %Y",
)  # fmt: skip


def _date_formats(order: DateOrder) -> tuple[str, ...]:
    if order == "MDY":
        local = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
    else:
        local = ("%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%Y")
    return _ISO_DATES + local


def _time_formats(order: DateOrder) -> tuple[str, ...]:
    days = ("%Y-%m-%d", "%m/%d/%Y" if order == "MDY" else "%d/%m/%Y")
    times = (
        "T%H:%M:%S", " %H:%M:%S", "T%H:%M:%S%.f", " %H:%M:%S%.f", " %H:%M", "T%H:%M",
        " %I:%M %p", " %I:%M:%S %p",
    )  # fmt: skip
    return tuple(d + t for d in days for t in times)


_OFFSET_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%:z", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%:z",
)  # fmt: skip


_SAMPLE = 256


def first_parse(text: pl.Series, parsers: Sequence[Parser], dtype: pl.DataType) -> pl.Series:
    """Each row parsed by the first format that fits it; null where none does.

    Formats are mutually exclusive (exact matches), so their order doesn't change the result,
    only the cost: each round runs the format that fits most of a small sample of the rows
    still unparsed over all of them, so a column with a few formats costs a few parses.
    """
    out = pl.Series(text.name, [None] * text.len(), dtype=dtype)
    remaining = text.is_not_null().arg_true()
    untried = list(parsers)
    while remaining.len() and untried:
        sample = text.gather(remaining.head(_SAMPLE))
        scores = [parse(sample).is_not_null().sum() for parse in untried]
        parse = untried.pop(scores.index(max(scores)))
        parsed = parse(text.gather(remaining))
        ok = parsed.is_not_null()
        if ok.any():
            out.scatter(remaining.filter(ok), parsed.filter(ok))
            remaining = remaining.filter(~ok)
    return out


def normalise_date(text: pl.Series, order: DateOrder = "MDY") -> pl.Series:
    """A date from any known format; a full timestamp keeps only its date part."""

    def day_of_timestamp(s: pl.Series) -> pl.Series:
        return where_iso(s).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)

    parsers: list[Parser] = [
        *(lambda s, f=f: s.str.to_date(f, strict=False) for f in _date_formats(order)),
        day_of_timestamp,
    ]
    return first_parse(text, parsers, pl.Date())


def where_iso(s: pl.Series) -> pl.Series:
    return pl.select(pl.when(s.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]")).then(s)).to_series()


def normalise_datetime(
    text: pl.Series, order: DateOrder = "MDY", source_timezone: str = "UTC"
) -> pl.Series:
    """A UTC timestamp. Offsets in the text win; text without one is in `source_timezone`."""
    utc = pl.Datetime("us", "UTC")

    def with_offset(fmt: str) -> Parser:
        return lambda s: s.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")

    text = fix_some(
        text,
        text.str.ends_with("Z") | text.str.ends_with("z"),
        lambda s: s.str.slice(0, s.str.len_chars() - 1) + "+00:00",
    )

    def local(parse: Parser) -> Parser:
        def run(s: pl.Series) -> pl.Series:
            naive = parse(s).cast(pl.Datetime("us"))
            zoned = naive.dt.replace_time_zone(
                source_timezone, ambiguous="earliest", non_existent="null"
            )
            return zoned.dt.convert_time_zone("UTC")

        return run

    parsers: list[Parser] = [
        *(with_offset(f) for f in _OFFSET_FORMATS),
        *(local(lambda s, f=f: s.str.to_datetime(f, strict=False, time_unit="us"))
          for f in _time_formats(order)),
        *(local(lambda s, f=f: s.str.to_date(f, strict=False)) for f in _date_formats(order)),
    ]  # fmt: skip
    return first_parse(text, parsers, utc)
