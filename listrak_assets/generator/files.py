"""A raw input file as the generator writes it: its name, key, dirt plan and export headers."""

from __future__ import annotations

from collections.abc import Mapping
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


def write(path: Path, df: pl.DataFrame, headers: Mapping[str, str]) -> None:
    """Write one file with its export headers; Parquet keeps every column as text."""
    out = df.select(pl.col(c).cast(pl.String).alias(h) for c, h in headers.items())
    if path.suffix == ".parquet":
        out.write_parquet(path, statistics=False)
    else:
        out.write_csv(path)
