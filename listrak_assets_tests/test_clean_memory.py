"""What keeps the clean step's memory low, checked by polars' own plan: the normalise plan
streams."""

from __future__ import annotations

import re

import polars as pl
import pytest

from listrak_assets.cleaning.table import (
    ROW,
    CleanOptions,
    _normalise_plan,
)
from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import Kind, TableSpec

# Physical nodes of the streaming engine that gather their whole input before passing it on:
# a plan with one of them holds every intermediate column of the table at once.
_WHOLE_INPUT = ("columnar-function", "multiplexer", "zip", "in-memory-sink", "sort", "group-by")

_STREAMED = [
    name
    for name, spec in TABLES.items()
    if not any(c.kind in (Kind.EMAIL, Kind.PHONE) for c in spec.columns)
]


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


def test_there_are_tables_whose_normalise_plan_must_stream() -> None:
    assert {"products", "order_items"} <= set(_STREAMED)


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("table", _STREAMED)
def test_the_normalise_plan_of_a_table_without_email_or_phone_streams(
    table: str, time_zone: str
) -> None:
    """Every step of the plan is elementwise, so the streaming engine passes each batch
    through; a step that needs the whole column (a `replace_strict` with a mapping was one)
    makes it gather the whole table first."""
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
