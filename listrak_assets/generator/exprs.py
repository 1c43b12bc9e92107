"""Small polars helpers the table builders and value renderers share: literals, per-row picks,
vocabulary lookups. Whole-column only: nothing here loops over rows in Python."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from polars.expr.whenthen import ChainedThen, Then


def text(value: str) -> pl.Expr:
    """A string literal (a bare str in `then()` would be read as a column name)."""
    return pl.lit(value, dtype=pl.String)


def pick(draw: str, options: Sequence[pl.Expr | str]) -> pl.Expr:
    """One option per row, chosen by the row's random integer column `draw`."""
    exprs = [o if isinstance(o, pl.Expr) else text(o) for o in options]
    if len(exprs) == 1:
        return exprs[0]
    k = pl.col(draw) % len(exprs)
    out: Then | ChainedThen = pl.when(k == 0).then(exprs[0])
    for i, expr in enumerate(exprs[1:-1], start=1):
        out = out.when(k == i).then(expr)
    return out.otherwise(exprs[-1])


def variant(options: Sequence[pl.Expr | str]) -> pl.Expr:
    """One option per row by the row's dirt-variant draw `_v`."""
    return pick("_v", options)


def vocab(
    pairs: Sequence[str | None] | Sequence[tuple[str | None, ...]], idx: np.ndarray, part: int = 0
) -> pl.Series:
    """Gather vocabulary entries by index, as a polars string Series (vectorised lookup)."""
    values = [p[part] if isinstance(p, tuple) else p for p in pairs]
    return pl.Series(values, dtype=pl.String).gather(idx)


def zfill(col: str | pl.Expr | pl.Series, width: int) -> pl.Expr | pl.Series:
    """An integer column as zero-padded text (keeps leading zeros of ids)."""
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.cast(pl.String).str.zfill(width)


def timestamps(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds as a naive UTC datetime Series."""
    return pl.from_epoch(pl.Series(seconds.astype(np.int64)), time_unit="s")


def select(df: pl.DataFrame, *exprs: pl.Expr | str) -> pl.DataFrame:
    """`df.select` through the lazy engine, which shares the sub-expressions the renderers
    repeat across branches (eager evaluation computes each again)."""
    return df.lazy().select(*exprs).collect()
