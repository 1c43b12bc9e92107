"""What a normaliser returns: the typed value and, where a written value has none, why."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import polars as pl


class Judged(NamedTuple):
    """`value` is the Listrak-formatted value or null; `reason` is a reason code (see
    `schemas.reasons`) exactly where the text was not empty and `value` is null."""

    value: pl.Series
    reason: pl.Series


def repeated(
    value: object, n: int, dtype: pl.DataType | type[pl.DataType], name: str = ""
) -> pl.Series:
    """`value` `n` times: one value copied, at about a thirtieth of the cost of `pl.repeat` or
    `Series.clear(n)` (4 against 120 microseconds), paid several times per batch and column."""
    return pl.Series(name, [value], dtype=dtype).new_from_index(0, n)


def judge(text: pl.Series, value: pl.Series, reason: str) -> Judged:
    """One reason for every non-empty text that gave no value."""
    failed = text.is_not_null() & value.is_null()
    why = pl.select(pl.when(failed).then(pl.lit(reason))).to_series().alias(text.name)
    return Judged(value.alias(text.name), why)


# Named intermediate columns, computed in one `with_columns` before the next stage reads
# them: a sub-expression used many times is computed once and the plan stays small (polars'
# optimiser is slow on deeply repeated expression trees).
Stage = dict[str, pl.Expr]


class JudgedExpr(NamedTuple):
    """`Judged` as expressions, to be evaluated in a table's one lazy plan, after `stages`
    (whose column names start with the scratch prefix the normaliser was given)."""

    value: pl.Expr
    reason: pl.Expr
    stages: tuple[Stage, ...] = ()


def judged_on(text: pl.Series, make: Callable[[pl.Expr], JudgedExpr]) -> Judged:
    """An expression normaliser evaluated on one series."""
    judged = make(pl.col("_"))
    frame = text.rename("_").to_frame().lazy()
    for stage in judged.stages:
        frame = frame.with_columns(**stage)
    both = frame.select(judged.value.alias("value"), judged.reason.alias("reason")).collect()
    return Judged(both["value"].alias(text.name), both["reason"].alias(text.name))


def judge_expr(
    text: pl.Expr, value: pl.Expr, reason: str, stages: tuple[Stage, ...] = ()
) -> JudgedExpr:
    """One reason for every non-empty text that gave no value."""
    why = pl.when(text.is_not_null() & value.is_null()).then(pl.lit(reason))
    return JudgedExpr(value, why, stages)


def per_distinct(
    text: pl.Expr, read: Callable[[pl.Series], pl.Series], dtype: pl.DataType
) -> pl.Expr:
    """`read` over the distinct non-null texts only, its results scattered back to every row
    with that text (null where the text is null). A general path behind a fast one reads
    what the fast one left (the other rows masked to null) at the cost of a scatter."""
    return text.map_batches(
        lambda column: on_distinct(column, read, dtype), return_dtype=dtype, is_elementwise=True
    )


def on_distinct(
    column: pl.Series, read: Callable[[pl.Series], pl.Series], dtype: pl.DataType
) -> pl.Series:
    """`per_distinct` over one series. One pass of hashing numbers the distinct texts: a
    categorical of the column's own (fresh, freed with it) holds them in code order, so its
    codes index `read`'s results (`unique` then `replace_strict` hashed every row twice).
    polars calls `Categories` unstable: the column-reads-as-each-value tests hold it to that."""
    categories = pl.Categories.random()
    codes = column.cast(pl.Categorical(categories))
    distinct = categories.to_series()
    if distinct.is_empty():
        # Built at once: a Python list of a million Nones costs a third of a second.
        return pl.repeat(None, column.len(), dtype=dtype, eager=True).alias(column.name)
    return read(distinct).gather(codes.to_physical()).alias(column.name)
