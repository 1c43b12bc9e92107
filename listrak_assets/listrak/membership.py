"""The membership diff and the import files that carry it. Pure: frames in, bytes out.

A member is an email address with the membership field `on`. Each send carries the whole
audience (`on`, with its profile attributes) and the leavers (`off`), as CSV files in
Listrak's import format: header row, comma delimiter, `"` text qualifier, UTF-8.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

EMAIL = "email"
ON = "on"
OFF = "off"
# Listrak's request limit is 250 MB and base64 inflates by 4/3, so files stay under this.
MAX_FILE_BYTES = 195_000_000


@dataclass(frozen=True)
class MembershipPlan:
    """Who is in the audience now, measured against who had the field `on` before."""

    current: pl.Series  # every audience email
    leavers: pl.Series  # had it on before, not in the audience now: they get `off`
    added: int  # in the audience, not before
    kept: int  # in both


def plan_membership(current: pl.Series, previous: pl.Series) -> MembershipPlan:
    """Leavers are `previous - current`, so a current member is never among them."""
    current = current.alias(EMAIL).unique(maintain_order=True)
    previous = previous.alias(EMAIL).unique()
    was = current.is_in(previous.implode())
    leavers = previous.filter(~previous.is_in(current.implode())).sort()
    kept = int(was.sum())
    return MembershipPlan(current=current, leavers=leavers, added=current.len() - kept, kept=kept)


def email_sha256(emails: pl.Series) -> pl.Series:
    """SHA-256 of each normalised address (Listrak's `universalEmailKey`): finds a contact
    in Listrak without showing the address."""
    return emails.map_elements(
        lambda e: hashlib.sha256(e.strip().lower().encode()).hexdigest(), return_dtype=pl.String
    )


def import_rows(frame: pl.DataFrame, flag_column: str, value: str) -> pl.DataFrame:
    """The file's table: `email`, the mapped attribute columns as text, then the flag."""
    return frame.select(
        pl.col(EMAIL),
        *(pl.col(c).cast(pl.String) for c in frame.columns if c != EMAIL),
        pl.lit(value).alias(flag_column),
    )


def to_csv(frame: pl.DataFrame) -> bytes:
    """Listrak's import format; nulls are empty cells, quotes only where needed."""
    return frame.write_csv(
        include_header=True, separator=",", quote_char='"', null_value="", line_terminator="\n"
    ).encode("utf-8")


def chunks(
    frame: pl.DataFrame, chunk_rows: int, max_bytes: int = MAX_FILE_BYTES
) -> Iterator[tuple[pl.DataFrame, bytes]]:
    """Consecutive slices of at most `chunk_rows` rows whose CSV is at most `max_bytes`
    (a slice that is too big is halved until it fits)."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    pending = [frame.slice(offset, chunk_rows) for offset in range(0, frame.height, chunk_rows)]
    pending.reverse()
    while pending:
        part = pending.pop()
        content = to_csv(part)
        if len(content) <= max_bytes:
            yield part, content
        elif part.height == 1:
            raise ValueError(f"one row's import line is larger than {max_bytes} bytes")
        else:
            half = part.height // 2
            pending.extend([part.slice(half), part.slice(0, half)])
