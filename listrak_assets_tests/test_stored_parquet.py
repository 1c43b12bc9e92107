"""How stored tables are encoded: zstd Parquet that Arrow's own reader decodes to the frame
the asset returned, for a table stored through the IO manager in a real run and for a state
file written by the storage module."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from listrak_assets.defs.resources import ListrakSettings, ParquetIOManager
from listrak_assets.storage import ROW_GROUP_ROWS, row_group_rows, write_parquet

FRAME = pl.DataFrame(
    {
        "email": ["a@example.com", None, "é@exämple.com", ""],
        "count": [1, None, 3, 4],
        "flag": [True, False, None, True],
    }
)


def _codecs(path: Path) -> set[str]:
    meta = pq.ParquetFile(path).metadata
    return {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }


def _read_by_arrow(path: Path) -> pl.DataFrame:
    frame = pl.from_arrow(pq.read_table(path))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_a_table_stored_by_a_run_is_zstd_and_arrow_reads_back_what_the_asset_returned(
    tmp_path: Path,
) -> None:
    @dg.asset(key=["clean", "customers"])
    def table() -> pl.DataFrame:
        return FRAME

    io_manager = ParquetIOManager(settings=ListrakSettings(), base_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        result = dg.materialize([table], resources={"io_manager": io_manager}, instance=instance)
    assert result.success
    stored = tmp_path / "clean" / "customers.parquet"
    assert _codecs(stored) == {"ZSTD"}
    assert _read_by_arrow(stored).equals(FRAME)
    assert pl.read_parquet(stored).equals(FRAME)


def test_a_state_file_keeps_its_metadata_and_is_zstd(tmp_path: Path) -> None:
    target = tmp_path / "state" / "members.parquet"
    target.parent.mkdir()
    write_parquet(FRAME, target, {"version": "2"})
    assert _codecs(target) == {"ZSTD"}
    assert pl.read_parquet_metadata(target)["version"] == "2"
    assert _read_by_arrow(target).equals(FRAME)


def _row_groups(path: Path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]


def test_a_frame_of_many_chunks_is_stored_in_even_row_groups(tmp_path: Path) -> None:
    """As a frame of one chunk is: the raw step stores the chunks polars read a CSV file in
    without copying them into one (the step's peak memory), and the clean step reads even
    row groups with less memory."""
    height = 2 * ROW_GROUP_ROWS + 5
    whole = pl.DataFrame({"n": pl.int_range(0, height, eager=True)})
    chunked = pl.concat([whole.slice(i, 9_000) for i in range(0, height, 9_000)], rechunk=False)
    assert chunked.n_chunks() > 3
    path = tmp_path / "t.parquet"
    write_parquet(chunked, path)
    groups = _row_groups(path)
    assert len(groups) == 3
    assert max(groups) - min(groups) <= 3
    assert pl.read_parquet(path).equals(whole)


def test_row_groups_are_as_few_as_the_most_rows_allow_and_even() -> None:
    assert row_group_rows(0) == 1
    assert row_group_rows(10) == 10
    assert row_group_rows(ROW_GROUP_ROWS) == ROW_GROUP_ROWS
    assert row_group_rows(ROW_GROUP_ROWS + 1) == ROW_GROUP_ROWS // 2 + 1
    assert row_group_rows(1_030_000) == 128_750
