"""Which rows an email send carries: only the contacts whose row changed since the last send
that finished, with the whole audience again every few days and on demand. Pure: frames in,
a decision out.

A row's hash covers exactly what its import line carries (the email and the mapped attribute
values, after cutting to field length), so any change to what Listrak would receive changes
it. The hash scheme (polars' row hash, which polars keeps stable within a release only, and the
columns with their profile fields) is recorded beside the hashes: when it differs, nothing can
be compared and the send is a full one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from listrak_assets.listrak.membership import EMAIL
from listrak_assets.listrak.state import HASH

# A fixed seed: the same row hashes to the same value in every run of one polars release.
# 64 bits: two different rows of a million-contact audience collide with odds about 1 in 10^7.
_SEED = 20261201
# How a full send is named in the metadata; a delta send is `DELTA`.
DELTA = "delta"


def hash_scheme(columns: dict[str, int]) -> str:
    """What the hashes depend on besides the values: the hash function (polars' release) and
    the columns, each with the profile field it goes to."""
    return json.dumps({"hash": f"polars {pl.__version__} hash_rows", "columns": columns})


def row_hashes(frame: pl.DataFrame) -> pl.DataFrame:
    """`email` and the hash of each row (every column, as text, in order)."""
    as_text = frame.select(pl.col(c).cast(pl.String) for c in frame.columns)
    return frame.select(EMAIL).with_columns(as_text.hash_rows(seed=_SEED).alias(HASH))


@dataclass(frozen=True)
class Delta:
    """What one send carries: `mode` is `delta` or why the whole audience goes (`full: ...`);
    `send` marks the rows to send, aligned with the audience."""

    mode: str
    send: pl.Series
    hashes: pl.DataFrame  # every row's hash: recorded once the send is confirmed
    scheme: str  # how the hashes were made: recorded beside them

    @property
    def full(self) -> bool:
        return self.mode != DELTA

    @property
    def unchanged(self) -> int:
        return int((~self.send).sum())


def full_send_reason(
    sent: tuple[pl.DataFrame | None, dict[str, Any]],
    scheme: str,
    *,
    reconcile: bool,
    full_send_days: int,
    today: date,
) -> str | None:
    """Why this send must carry the whole audience, or None when a delta will do."""
    hashes, info = sent
    if reconcile:
        return "full: reconciliation"
    if full_send_days == 0:
        return "full: every send (email.full_send_days is 0)"
    if hashes is None:
        return "full: no record of the rows sent"
    if info.get("scheme") != scheme:
        return "full: the columns or the hash function changed"
    last = info.get("full_send")
    if not last:
        return "full: no full send on record"
    if (today - date.fromisoformat(str(last))).days >= full_send_days:
        return f"full: the last full send was on {last} (every {full_send_days} days)"
    return None


def plan_delta(
    rows: pl.DataFrame,
    sent: tuple[pl.DataFrame | None, dict[str, Any]],
    scheme: str,
    *,
    reconcile: bool,
    full_send_days: int,
    today: date,
) -> Delta:
    """The rows (`email` first, then the values an import line carries) to send: all of
    them for a full send, otherwise those whose hash differs from the one on record or has
    none (new members, members of a send that did not finish, contacts an import refused)."""
    hashes = row_hashes(rows)
    reason = full_send_reason(
        sent, scheme, reconcile=reconcile, full_send_days=full_send_days, today=today
    )
    recorded = sent[0]
    if reason is not None or recorded is None:
        return Delta(reason or "full", pl.Series("send", [True] * rows.height), hashes, scheme)
    joined = hashes.join(
        recorded.rename({HASH: "sent"}), on=EMAIL, how="left", maintain_order="left"
    )
    changed = joined.select(
        (pl.col("sent").is_null() | (pl.col("sent") != pl.col(HASH))).alias("send")
    ).to_series()
    return Delta(DELTA, changed, hashes, scheme)
