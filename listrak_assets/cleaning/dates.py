"""Dates and timestamps in the formats exports use, to ISO 8601 (UTC for timestamps)."""

from typing import Literal

import polars as pl

from listrak_assets.cleaning.text import clean_text

DateOrder = Literal["MDY", "DMY"]

_ISO_DATES = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
)


def _date_formats(order: DateOrder) -> tuple[str, ...]:
    # Slashed and dashed day/month dates are ambiguous: the `date_order` setting decides.
    if order == "MDY":
        local = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
    else:
        local = ("%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%Y")
    return _ISO_DATES + local


def _time_formats(order: DateOrder) -> tuple[str, ...]:
    days = ("%Y-%m-%d", "%m/%d/%Y" if order == "MDY" else "%d/%m/%Y")
    times = (
        "T%H:%M:%S%.f",
        "T%H:%M:%S",
        " %H:%M:%S%.f",
        " %H:%M:%S",
        " %H:%M",
        " %I:%M %p",
        " %I:%M:%S %p",
        "T%H:%M",
    )
    return tuple(d + t for d in days for t in times)


def normalise_date(expr: pl.Expr, order: DateOrder = "MDY") -> pl.Expr:
    """A date from any known format; a timestamp keeps only its date part."""
    text = clean_text(expr)
    # A full timestamp (`1984-03-07T00:00:00Z`) is accepted for a date: keep the day.
    day = pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]")).then(text.str.slice(0, 10))
    text = day.otherwise(text)
    return pl.coalesce([text.str.to_date(f, strict=False) for f in _date_formats(order)])


def normalise_datetime(
    expr: pl.Expr, order: DateOrder = "MDY", source_timezone: str = "UTC"
) -> pl.Expr:
    """A UTC timestamp. Offsets in the text win; text without one is in `source_timezone`."""
    text = clean_text(expr).str.replace(r"(?i)z$", "+00:00")
    with_offset = [
        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        for f in (
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M:%S%:z",
            "%Y-%m-%d %H:%M:%S%:z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%d %H:%M:%S%.f%:z",
        )
    ]
    naive = [
        text.str.to_datetime(f, strict=False, time_unit="us") for f in _time_formats(order)
    ] + [text.str.to_date(f, strict=False).cast(pl.Datetime("us")) for f in _date_formats(order)]
    local = (
        pl.coalesce(naive)
        .dt.replace_time_zone(source_timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return pl.coalesce([*with_offset, local])
