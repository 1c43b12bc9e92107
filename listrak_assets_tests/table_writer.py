"""A separate process that materializes one table again and again through Dagster and the
Parquet IO manager, for the tests of concurrent and killed writers (`test_atomic.py`).

    python -m listrak_assets_tests.table_writer WAREHOUSE TAG ROUNDS ROWS [START_FILE]

Round `k` stores `ROWS` rows tagged `TAG-k`, whose `n` column sums to a known total, so a reader
can tell a whole table from a torn one. With START_FILE, it waits for that file to exist
first, so that two writers start together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl

from listrak_assets.defs.resources import ParquetIOManager
from listrak_assets.defs.settings import ListrakSettings

KEY = dg.AssetKey(["clean", "customers"])


def table(tag: str, rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"n": pl.int_range(rows, eager=True), "tag": pl.repeat(tag, rows, eager=True)}
    )


def is_whole(frame: pl.DataFrame, rows: int) -> bool:
    """True for a table `table()` wrote: every row, one tag."""
    return (
        frame.height == rows
        and frame["tag"].n_unique() == 1
        and frame["n"].sum() == rows * (rows - 1) // 2
    )


def run(warehouse: Path, tag: str, rounds: int, rows: int) -> None:
    io_manager = ParquetIOManager(settings=ListrakSettings(), base_dir=str(warehouse))
    for k in range(1, rounds + 1):
        frame = table(f"{tag}-{k}", rows)

        @dg.asset(key=KEY)
        def customers() -> pl.DataFrame:
            return frame  # noqa: B023 (materialized before the loop moves on)

        result = dg.materialize(
            [customers],
            resources={"io_manager": io_manager},
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success


def main(argv: list[str]) -> int:
    warehouse, tag, rounds, rows = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    if len(argv) > 4:
        start = Path(argv[4])
        while not start.exists():
            time.sleep(0.01)
    run(warehouse, tag, rounds, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
