"""The export date in an inbox file's name: `orders_2026-12-01.csv` is the export of
2026-12-01; `orders.csv` carries no date and belongs to the day of the run that reads it.

Tables kept by day (orders, order items) read only the files of one day, so a 30-day backfill
makes 30 days' files, each from its own exports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from listrak_assets.inbox.errors import InputFileError

# What may stand between the table name and the date: `orders_2026-12-01.csv`,
# `orders-2026-12-01.csv`, `orders 2026-12-01.csv`.
SEPARATORS = ("_", "-", " ")
# After the table name and its separator: a calendar date, not followed by another digit.
_DATED = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?!\d)")


def export_date(name: str, table: str) -> dt.date | None:
    """The date in `name` right after `{table}_` (or `-`, space); None for an undated name.
    A name that looks dated but is no calendar day fails: silently taking it for today's
    export would send it under the wrong day."""
    if name[len(table) : len(table) + 1] not in SEPARATORS:
        return None  # `orders.csv`, or a name whose date is not set off from the table's
    found = _DATED.match(name, len(table) + 1)
    if found is None:
        return None
    try:
        return dt.date(*(int(g) for g in found.groups()))
    except ValueError:
        raise InputFileError(
            name,
            f"'{found.group(0)}' is not a calendar date; name the file {table}_YYYY-MM-DD "
            "with the day of the export, or leave the date out for the day of the run",
        ) from None


def files_of_day(paths: Iterable[Path], table: str, day: dt.date, run_day: dt.date) -> list[Path]:
    """The files of `table` exported on `day`; undated files count as `run_day`'s."""
    return [p for p in paths if (export_date(p.name, table) or run_day) == day]
