"""A raw input file as the generator writes it: its name, key, dirt plan and export headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from listrak_assets.generator.dirt import DirtPlan


@dataclass(frozen=True)
class RawFile:
    """One of the six inputs. `headers` maps each Listrak column to the header the export
    writes, in the mixed case real exports use; the spellings the settings file maps by name
    (`Zip`, `Mobile Phone`, `Phone Number`) must stay exactly as they are."""

    name: str
    key: tuple[str, ...]  # the Listrak key (the spec's names), repeated in the manifest
    plan: DirtPlan
    headers: Mapping[str, str]


def write(path: Path, chunks: Iterable[pl.DataFrame], headers: Mapping[str, str]) -> pl.DataFrame:
    """Write one file from its rendered chunks, in order, with its export headers; Parquet
    keeps every column as text. Returns the chunks' own columns (`_dirt`, ...: what the
    manifest counts), so the text itself is never held whole. A CSV is appended chunk by
    chunk; Parquet (the product catalogue, the smallest table) is written in one piece."""
    meta: list[pl.DataFrame] = []
    text: list[pl.DataFrame] = []
    with ExitStack() as stack:
        out = None if path.suffix == ".parquet" else stack.enter_context(path.open("wb"))
        for chunk in chunks:
            meta.append(chunk.select(c for c in chunk.columns if c.startswith("_")))
            rows = chunk.select(pl.col(c).cast(pl.String).alias(h) for c, h in headers.items())
            if out is None:
                text.append(rows)
            else:
                rows.write_csv(out, include_header=len(meta) == 1)
    if out is None:
        pl.concat(text).rechunk().write_parquet(path, statistics=False)
    return pl.concat(meta)
