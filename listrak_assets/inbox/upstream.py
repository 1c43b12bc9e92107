"""A table handed over by another Dagster asset, read as a raw table: the same columns as
the inbox reader gives (all text, Listrak's names, `_source_file` and `_source_row`), so
cleaning cannot tell where the rows came from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW
from listrak_assets.inbox.headers import match_columns
from listrak_assets.inbox.reader import RawFile, RawTable
from listrak_assets.schemas.spec import TableSpec


def as_polars(value: Any) -> pl.DataFrame:
    """A polars frame from a polars, pandas or Arrow table (anything `pl.from_*` takes);
    TypeError otherwise. pandas and pyarrow are the host project's: they are
    only reached through the value's own type, never imported here."""
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, pl.DataFrame):
        return value
    module = type(value).__module__.split(".")[0]
    frame: pl.DataFrame | pl.Series | None = None
    if module == "pandas":
        frame = pl.from_pandas(value)
    elif module == "pyarrow":
        frame = pl.from_arrow(value)
    if isinstance(frame, pl.DataFrame):
        return frame
    raise TypeError("not a polars, pandas or Arrow table")


def upstream_frame(value: Any, source: str) -> pl.DataFrame:
    """The upstream asset's value as a polars frame; TypeError naming the upstream asset and
    what it delivered when that is no table or does not convert."""
    try:
        return as_polars(value)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as err:
        kind = f"{type(value).__module__}.{type(value).__name__}"
        raise TypeError(f"upstream asset {source} delivered {kind}: {err}") from None


def raw_from_frame(
    spec: TableSpec,
    value: Any,
    source: str,
    *,
    mapping: Mapping[str, str] | None = None,
    updated_at: str = "updated_at",
    restrict_pii: bool = True,
) -> RawTable:
    """The upstream table as a raw table. Columns are matched as a file's headers are (by
    Listrak's names or `mapping`, upstream column -> Listrak column); `_source_file` and
    `_source_row` are kept when the table has them, else the source (the upstream asset's
    key) and the row number, 1 for the first row."""
    frame = upstream_frame(value, source)
    data = [c for c in frame.columns if c not in (SOURCE_FILE, SOURCE_ROW)]
    match = match_columns(source, data, spec, mapping or {}, updated_at, restrict_pii)
    chosen = {data[i]: target for i, target in match.chosen.items()}
    text = frame.select(
        [pl.col(column).cast(pl.String).alias(target) for column, target in chosen.items()]
    )
    text = text.with_columns(
        (
            frame[SOURCE_FILE].cast(pl.String)
            if SOURCE_FILE in frame.columns
            else pl.lit(source, dtype=pl.String)
        ).alias(SOURCE_FILE),
        (
            frame[SOURCE_ROW].cast(pl.Int64)
            if SOURCE_ROW in frame.columns
            else pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
        ).alias(SOURCE_ROW),
    )
    first = [SOURCE_FILE, SOURCE_ROW]
    text = text.select(first + [c for c in text.columns if c not in first])
    return RawTable(text, [RawFile(source, text.height, 0, chosen, match.ignored)])
