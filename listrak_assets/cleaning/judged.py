"""What a normaliser returns: the typed value and, where a written value has none, why."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl


class Judged(NamedTuple):
    """`value` is the Listrak-formatted value or null; `reason` is a reason code (see
    `schemas.reasons`) exactly where the text was not empty and `value` is null."""

    value: pl.Series
    reason: pl.Series


def judge(text: pl.Series, value: pl.Series, reason: str) -> Judged:
    """One reason for every non-empty text that gave no value."""
    failed = text.is_not_null() & value.is_null()
    why = pl.select(pl.when(failed).then(pl.lit(reason))).to_series().alias(text.name)
    return Judged(value.alias(text.name), why)


def unjudged(value: pl.Series) -> Judged:
    """A value that can't fail (free text): no reasons."""
    return Judged(value, pl.Series(value.name, [None] * value.len(), dtype=pl.String))
