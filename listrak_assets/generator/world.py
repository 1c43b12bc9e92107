"""The export's locale: the decimal separator and the time zone of times written without an
offset. Both mirror the cleaner's settings (`decimal_separator`, `source_timezone`): data
generated with a locale is cleaned right only under the same settings.

`generate()` sets the locale for the duration of one run; the value renderers read it, the
way they read the dirt kind being rendered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import polars as pl

from listrak_assets.formats import DecimalSeparator


@dataclass(frozen=True)
class Locale:
    """How the export writes amounts and local times."""

    decimal_separator: DecimalSeparator = "."
    source_timezone: str = "UTC"


_DEFAULT = Locale()
_LOCALE: ContextVar[Locale | None] = ContextVar("_LOCALE", default=None)


def locale() -> Locale:
    """The locale of the run being generated."""
    return _LOCALE.get() or _DEFAULT


@contextmanager
def using(value: Locale) -> Iterator[None]:
    """Generate with `value` inside the block."""
    token = _LOCALE.set(value)
    try:
        yield
    finally:
        _LOCALE.reset(token)


def wall_clock(instant: pl.Expr) -> pl.Expr:
    """A naive UTC instant as the wall-clock time of the source time zone (still naive)."""
    zone = locale().source_timezone
    if zone == "UTC":
        return instant
    return instant.dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.replace_time_zone(None)


@dataclass(frozen=True)
class Transition:
    """A change of UTC offset: at `at` (UTC, epoch seconds) from `before` to `after` seconds
    east of UTC. A forward change opens a gap of wall-clock times that never happen; a
    backward one an overlap of times that happen twice."""

    at: int
    before: int
    after: int


@cache
def transitions(zone: str, start: int, end: int) -> tuple[Transition, ...]:
    """The offset changes of `zone` between two instants (epoch seconds): found hour by hour
    (zones change their offset at most once within an hour), then to the second by halving."""
    tz = ZoneInfo(zone)

    def offset(t: int) -> int:
        moment = dt.datetime.fromtimestamp(t, dt.UTC).astimezone(tz)
        delta = moment.utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    found = []
    hour = 3600
    t, current = start, offset(start)
    while t + hour <= end:
        nxt = offset(t + hour)
        if nxt != current:
            lo, hi = t, t + hour  # offset(lo) == current, offset(hi) == nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            found.append(Transition(hi, current, nxt))
            current = nxt
        t += hour
    return tuple(found)
