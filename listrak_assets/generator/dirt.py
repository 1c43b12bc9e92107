"""Dirt: which rows of a file carry which kind, in exact numbers, and how a file's typed rows
become its text rows (duplicates added, each kind rendered on its own, rows placed).

Every row carries at most one kind of dirt, so the manifest can say exactly what cleaning
must reject, merge and fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import polars as pl

from listrak_assets.generator.exprs import text
from listrak_assets.generator.vocabulary import DAY, ORDERS_FROM, ORDERS_TO
from listrak_assets.generator.world import Transition, locale, transitions

REJECT_RATE = 0.02  # per reject kind, of a file's base rows
REFERENTIAL_RATE = 0.02  # per referential kind
DUPLICATE_RATE = 0.03  # extra copies, of a file's base rows
DST_RATE = 0.01  # per kind of DST edge (gap, overlap), of a file's base rows
# Rows rendered and written at a time: bounds the text a file holds in memory, not its content.
CHUNK_ROWS = 200_000

# `_dst`: how a row's `updated_at` meets a change of UTC offset in the source time zone.
DST_NONE, DST_GAP, DST_OVERLAP = 0, 1, 2

CLEAN = "clean"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class DirtPlan:
    """The dirt one file may carry: reject and referential kinds at fixed rates, cosmetic kinds
    at their own rates."""

    reject: tuple[str, ...]
    cosmetic: Mapping[str, float]
    referential: tuple[str, ...] = ()
    # The reject kinds whose invalid value sits in an optional column: blanked, row kept.
    blanked: tuple[str, ...] = ()

    def rates(self) -> dict[str, float]:
        return {
            **dict.fromkeys(self.reject, REJECT_RATE),
            **dict.fromkeys(self.referential, REFERENTIAL_RATE),
            **self.cosmetic,
        }


# The dirt kind of the rows being rendered; set by `render_table`, which renders one kind at a
# time.
_RENDERING: ContextVar[str | None] = ContextVar("_RENDERING", default=None)


def carries(kind: str) -> pl.Expr:
    """True on rows that carry dirt `kind`. While `render_table` renders one kind this is a
    constant, so polars drops the other kinds' branches unevaluated (renders ~5x faster)."""
    rendering = _RENDERING.get()
    if rendering is not None:
        return pl.lit(rendering == kind)
    return pl.col("_dirt") == kind


def draw_dirt(rng: np.random.Generator, n: int, plan: DirtPlan) -> pl.Series:
    """One dirt label per row, from exact counts (round(rate * n)) dealt out at random."""
    rates = plan.rates()
    counts = [int(rate * n + 0.5) for rate in rates.values()]
    if sum(counts) > n:
        raise ValueError(f"dirt rates add up to more than {n} rows")
    labels = [*rates, CLEAN]
    codes = np.repeat(np.arange(len(labels)), [*counts, n - sum(counts)])
    return pl.Series("_dirt", labels, dtype=pl.String).gather(rng.permutation(codes))


def _add_duplicates(
    rng: np.random.Generator,
    df: pl.DataFrame,
    mutate: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Append copies of clean rows with another `updated_at` (a day or more away, so the
    newest is never a tie); `mutate` changes what a later export would have changed."""
    pool = np.flatnonzero((df["_dirt"] == CLEAN).to_numpy())
    n_copies = int(DUPLICATE_RATE * df.height + 0.5) if len(pool) else 0
    if n_copies == 0:
        return df
    src = rng.choice(pool, size=n_copies, replace=True)  # a few rows get two copies
    sign = rng.choice(np.array([-1, 1]), size=n_copies)
    days = rng.integers(1, 31, size=n_copies)
    seconds = rng.integers(0, DAY, size=n_copies)
    copies = (
        df[src]
        .with_columns(
            _src=pl.Series(src),
            _sign=pl.Series(sign),
            _days=pl.Series(days),
            _secs=pl.Series(seconds),
        )
        .with_columns(_nth=pl.int_range(pl.len()).over("_src"))
        .with_columns(
            # Copy k of a row lies 40k+1..40k+31 days away: copies never tie with each other.
            updated=pl.col("updated")
            + pl.duration(
                days=pl.col("_sign") * (pl.col("_nth") * 40 + pl.col("_days")),
                seconds=pl.col("_sign") * pl.col("_secs"),
            ),
            _dirt=text(DUPLICATE),
            _dst=pl.lit(DST_NONE, pl.Int8),
            _dst_wall=pl.lit(None, pl.Datetime("us")),
        )
        .drop("_src", "_days", "_secs", "_nth")
    )
    if mutate is not None:
        copies = mutate(copies)  # `_sign` says whether the copy is older (-1) or newer (1)
    return pl.concat([df, copies.drop("_sign")], how="vertical")


def _place(
    rng: np.random.Generator, edges: tuple[Transition, ...], count: int, gap: bool
) -> tuple[np.ndarray, np.ndarray]:
    """`count` instants (epoch seconds) whose wall-clock time, written with the offset in
    force before the change, falls in a gap (`gap`) or in the first pass of an overlap; and
    that offset."""
    chosen = [e for e in edges if (e.after > e.before) == gap]
    if not chosen or count == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    pick = rng.integers(0, len(chosen), count)
    at = np.array([e.at for e in chosen], dtype=np.int64)[pick]
    before = np.array([e.before for e in chosen], dtype=np.int64)[pick]
    width = np.array([abs(e.after - e.before) for e in chosen], dtype=np.int64)[pick]
    into = rng.integers(0, 2**31, count) % width
    # A gap's times come after the change; an overlap's first pass ends at it.
    return (at + into if gap else at - width + into), before


def _dst_edges(rng: np.random.Generator, df: pl.DataFrame) -> pl.DataFrame:
    """Move exact counts of rows' `updated` to a change of UTC offset in the source time zone:
    `_dst` says which edge, `_dst_wall` is the wall-clock time the export writes for it. The
    cleaner's documented rule reads a gap time with the offset before the gap and an overlap
    time as its first occurrence, which gives back the instant."""
    none = df.with_columns(
        _dst=pl.lit(DST_NONE, pl.Int8), _dst_wall=pl.lit(None, pl.Datetime("us"))
    )
    zone = locale().source_timezone
    edges = () if zone == "UTC" else transitions(zone, ORDERS_FROM, ORDERS_TO)
    n_each = int(DST_RATE * df.height + 0.5)
    if not edges or n_each == 0:
        return none
    rows = rng.permutation(df.height)
    gap, gap_offsets = _place(rng, edges, n_each, gap=True)
    overlap, overlap_offsets = _place(rng, edges, n_each, gap=False)
    instants = np.concatenate([gap, overlap])
    offsets = np.concatenate([gap_offsets, overlap_offsets])
    where = rows[: len(instants)]
    kind = np.full(df.height, DST_NONE, dtype=np.int8)
    kind[where[: len(gap)]] = DST_GAP
    kind[where[len(gap) :]] = DST_OVERLAP
    updated = df["updated"].cast(pl.Datetime("us"))
    moved = pl.from_epoch(pl.Series(instants), time_unit="s").cast(pl.Datetime("us"))
    walls = pl.from_epoch(pl.Series(instants + offsets), time_unit="s").cast(pl.Datetime("us"))
    wall = pl.repeat(None, df.height, dtype=pl.Datetime("us"), eager=True)
    return df.with_columns(
        updated=updated.scatter(where, moved).cast(df.schema["updated"]),
        _dst=pl.Series(kind),
        _dst_wall=wall.scatter(where, walls),
    )


def _draws(rng: np.random.Generator, df: pl.DataFrame) -> pl.DataFrame:
    """The per-row random choices renderers read: `_v` picks a dirt variant, `_fmt` the
    `updated_at` format."""
    return df.with_columns(
        _v=pl.Series(rng.integers(0, 2**31, df.height), dtype=pl.Int64),
        _fmt=pl.Series(rng.integers(0, 2**31, df.height), dtype=pl.Int64),
    )


def render_table(
    rng: np.random.Generator,
    typed: pl.DataFrame,
    render: Callable[[pl.DataFrame], pl.DataFrame],
    mutate: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pl.DataFrame]:
    """Typed rows to the file's text rows (plus `_dirt`), in file order, `chunk_rows` at a
    time: add duplicates, put each copy at a random place (base rows keep the export's natural
    order; their dirt is already random) and render each dirt kind on its own. Every random
    draw is made before the first chunk and rendering is row by row, so the rows are the same
    whatever the chunk size; only one chunk's text is in memory at a time."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    frame = _draws(rng, _add_duplicates(rng, _dst_edges(rng, typed), mutate))
    n_base = typed.height
    places = rng.integers(0, n_base + 1, frame.height - n_base)
    order = np.insert(np.arange(n_base), places, np.arange(n_base, frame.height))
    frame = frame[order]
    if frame.height == 0:
        yield render(frame).with_columns(frame.select("_dirt", "_dst"))
        return
    for start in range(0, frame.height, chunk_rows):
        yield _render_rows(frame.slice(start, chunk_rows), render)


def _render_rows(
    frame: pl.DataFrame, render: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """Render rows one dirt kind at a time (see `carries`), keeping their order."""
    frame = frame.with_row_index("_rank")
    parts = []
    for (kind,), part in frame.partition_by("_dirt", as_dict=True, maintain_order=True).items():
        token = _RENDERING.set(str(kind))
        try:
            parts.append(render(part).with_columns(part.select("_dirt", "_dst", "_rank")))
        finally:
            _RENDERING.reset(token)
    return pl.concat(parts, how="vertical_relaxed").sort("_rank").drop("_rank")


def valid(df: pl.DataFrame, plan: DirtPlan) -> pl.DataFrame:
    """Rows without any invalid value (referential and cosmetic rows stay): the rows other
    tables may point at."""
    return df.filter(~pl.col("_dirt").is_in(plan.reject))
