"""What keeps the clean step's memory low, checked by its behaviour and by polars' own plan:
the normalise plan is elementwise, so a table normalised a slice at a time gives what the
whole table gives, and the rewrites that avoid a copy or a hash table of the whole table
give what the plain way gives."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from listrak_assets.cleaning.table import (
    _ORDER,
    ROW,
    CleanOptions,
    _merged,
    _normalise_plan,
    _normalised,
    _shares_hash,
    _taken,
)
from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.generator import generate
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import Kind, TableSpec
from listrak_assets_tests.conftest import raw_table

# Physical nodes of the streaming engine that gather their whole input before passing it on:
# a plan with one of them has a step that is not elementwise, and a slice of the table would
# not give its rows what the whole table gives them.
_WHOLE_INPUT = ("columnar-function", "multiplexer", "zip", "in-memory-sink", "sort", "group-by")


def _raw(spec: TableSpec) -> pl.DataFrame:
    """A raw table of every column of `spec`, as the raw step stores it (text)."""
    names = [SOURCE_FILE, SOURCE_ROW, *spec.column_names, UPDATED_AT]
    row = {name: "x" for name in names} | {SOURCE_ROW: 1}
    return pl.DataFrame(
        [row], schema={n: pl.Int64 if n == SOURCE_ROW else pl.String for n in names}
    )


def _physical_nodes(plan: pl.LazyFrame) -> list[str]:
    graph = plan.show_graph(engine="streaming", plan_stage="physical", raw_output=True)
    assert isinstance(graph, str)
    return re.findall(r'label="([^"\\]*)', graph)


# A phone column's step is not marked elementwise (see `_by_library`): its table gathers.
_ELEMENTWISE = sorted(
    name for name, spec in TABLES.items() if not any(c.kind is Kind.PHONE for c in spec.columns)
)


def test_the_tables_whose_plan_must_be_elementwise_have_email_columns() -> None:
    """The test below covers a column judged by a library, not only the expressions."""
    assert {"products", "order_items", "orders", "email_audience"} <= set(_ELEMENTWISE)
    assert any(c.kind is Kind.EMAIL for name in _ELEMENTWISE for c in TABLES[name].columns)


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("table", _ELEMENTWISE)
def test_the_normalise_plan_of_a_table_without_a_phone_column_is_elementwise(
    table: str, time_zone: str
) -> None:
    """Every step of the plan is elementwise, as the streaming engine's plan shows: it passes
    each batch through. A step that needs the whole column (a `replace_strict` with a
    mapping was one, an email column judged over the whole column another) makes it gather
    the whole table first, and would make a slice of the table normalise unlike the whole."""
    spec = TABLES[table]
    plan = _normalise_plan(_raw(spec), spec, CleanOptions(source_timezone=time_zone))
    nodes = _physical_nodes(plan)
    assert nodes, "no physical plan"
    gathering = [n for n in nodes if n.split()[0].startswith(_WHOLE_INPUT)]
    assert gathering == []


def test_the_normalise_plan_check_sees_a_step_that_needs_the_whole_column() -> None:
    """The check above is not blind: the same plan with one non-elementwise step fails it."""
    spec = TABLES["order_items"]
    plan = _normalise_plan(_raw(spec), spec, CleanOptions())
    whole = plan.with_columns(pl.col(ROW).map_batches(lambda s: s, return_dtype=pl.UInt32))
    assert any(n.startswith(_WHOLE_INPUT) for n in _physical_nodes(whole))


_WORLD = {"decimal_separator": ",", "source_timezone": "America/New_York"}
_SLICE = 17  # rows: an odd size, so no slice ends where a Parquet row group does


@pytest.mark.parametrize("export", [{}, _WORLD], ids=["plain", "world"])
def test_a_table_normalised_a_slice_at_a_time_is_the_table_normalised_whole(
    tmp_path: Path, export: dict[str, Any]
) -> None:
    """Generated tables (phone and email columns, every kind of dirt) cut into slices of an
    odd size: every row, its number and every reason come out as from one slice. The raw
    table is also read from Parquet with small row groups, as the clean step scans it."""
    inbox = tmp_path / "inbox"
    generate(inbox, customers=150, seed=5, **export)
    options = CleanOptions(**export)
    for table, spec in TABLES.items():
        raw = raw_table(inbox, table)
        assert raw.height > 2 * _SLICE, table  # three slices at least
        whole = _normalised(raw, spec, options, slice_rows=raw.height)
        assert whole[ROW].to_list() == list(range(raw.height)), table
        stored = tmp_path / f"{table}.parquet"
        raw.write_parquet(stored, row_group_size=16)
        for sliced in (raw, pl.scan_parquet(stored)):
            assert _normalised(sliced, spec, options, slice_rows=_SLICE).equals(whole), table


def test_an_empty_table_normalises_to_no_rows() -> None:
    spec = TABLES["customers"]
    assert _normalised(_raw(spec).clear(), spec, CleanOptions(), slice_rows=_SLICE).height == 0


_KEY_PART = st.sampled_from(["a", "b", "ab"])
_ROWS = st.lists(
    st.tuples(
        _KEY_PART,
        _KEY_PART,
        st.one_of(st.none(), st.integers(0, 3)),  # updated_at, in hours
        st.one_of(st.none(), st.booleans()),  # the sticky column
    ),
    max_size=40,
)


@given(_ROWS)
def test_merged_rows_are_those_a_group_by_over_every_key_drops(
    rows: list[tuple[str, str, int | None, bool | None]],
) -> None:
    """The rows narrowed by a hash of the key, then grouped by the key, lose to the same
    winners as grouping every row by its key: newest, then read last, a sticky true first."""
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            ROW: pl.Series(range(len(rows)), dtype=pl.UInt32),
            "a": [r[0] for r in rows],
            "b": [r[1] for r in rows],
            _ORDER: [None if r[2] is None else base + dt.timedelta(hours=r[2]) for r in rows],
            "optedout": [r[3] for r in rows],
        },
        schema_overrides={_ORDER: pl.Datetime("us", "UTC")},
    )
    for key, sticky in ((("a",), ()), (("a", "b"), ()), (("a",), ("optedout",))):
        spec = TableSpec("t", columns=(), key=key, description="", sticky_true=sticky)
        flags = [pl.col(c).fill_null(False) for c in sticky]
        winner = pl.col(ROW).sort_by(*flags, _ORDER, ROW, nulls_last=False).last()
        winners = frame.group_by(list(key)).agg(winner)[ROW]
        expected = frame.filter(~pl.col(ROW).is_in(winners.implode()))[ROW].sort()
        assert _merged(frame.lazy(), spec).sort().to_list() == expected.to_list()


@given(st.lists(st.integers(0, 5), max_size=30))
def test_shares_hash_is_is_duplicated(values: list[int]) -> None:
    hashes = pl.Series("h", values, dtype=pl.UInt64)
    assert _shares_hash(hashes).to_list() == hashes.is_duplicated().to_list()


def test_taken_keeps_the_rows_in_order_and_moves_the_columns_out() -> None:
    """The kept rows equal a filter of the whole frame, and the frame is left empty: its
    columns are let go while the copy is made, not after."""
    frame = pl.DataFrame({"n": [1, 2, 3, 4], "s": ["a", None, "c", "d"]}).with_columns(
        pl.lit(None, pl.String).alias("blank")
    )
    keep = pl.Series([True, False, True, True])
    expected = frame.filter(keep)
    assert _taken(frame, keep).equals(expected)
    assert frame.width == 0
