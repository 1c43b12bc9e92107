"""A table handed over by another asset, read as a raw table: the columns matched as a file's
headers are, everything as text, `_source_file` / `_source_row` kept or derived; polars, pandas
and Arrow tables alike, anything else refused naming the upstream asset and its type."""

from __future__ import annotations

import re

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from listrak_assets.inbox import InputFileError
from listrak_assets.inbox.upstream import raw_from_frame
from listrak_assets.schemas import TABLES

AUDIENCE = TABLES["email_audience"]


def test_source_and_row_are_derived_when_absent() -> None:
    table = raw_from_frame(
        AUDIENCE, pl.DataFrame({"E-Mail": ["a@example.com", "b@example.com"]}), "shop/subs"
    )
    assert table.frame.columns[:2] == ["_source_file", "_source_row"]
    assert table.frame.rows() == [
        ("shop/subs", 1, "a@example.com"),
        ("shop/subs", 2, "b@example.com"),
    ]


def test_source_and_row_given_upstream_are_kept() -> None:
    frame = pl.DataFrame(
        {"email": ["a@example.com"], "_source_file": ["crm.csv"], "_source_row": [41]}
    )
    table = raw_from_frame(AUDIENCE, frame.lazy(), "shop/subs")
    assert table.frame.select("_source_file", "_source_row").rows() == [("crm.csv", 41)]


def test_values_become_text_and_mapped_columns_are_renamed() -> None:
    frame = pl.DataFrame({"mail": ["a@example.com"], "points": [7], "vorname": ["Ann"]})
    table = raw_from_frame(
        AUDIENCE, frame, "shop/subs", mapping={"vorname": "firstname", "mail": "email"}
    )
    assert table.frame.schema["firstname"] == pl.String
    assert table.frame.select("email", "firstname").rows() == [("a@example.com", "Ann")]


def test_a_missing_required_column_fails_naming_the_source() -> None:
    with pytest.raises(InputFileError, match="shop/subs"):
        raw_from_frame(AUDIENCE, pl.DataFrame({"firstname": ["Ann"]}), "shop/subs")


@pytest.mark.parametrize(
    "value",
    [
        pd.DataFrame({"Mail": ["a@example.com", "b@example.com"], "vorname": ["Ann", None]}),
        pa.table({"Mail": ["a@example.com", "b@example.com"], "vorname": ["Ann", None]}),
        pa.record_batch({"Mail": ["a@example.com", "b@example.com"], "vorname": ["Ann", None]}),
    ],
    ids=["pandas", "arrow-table", "arrow-batch"],
)
def test_pandas_and_arrow_tables_are_read_as_polars_ones(value: object) -> None:
    table = raw_from_frame(
        AUDIENCE, value, "shop/subs", mapping={"vorname": "firstname", "Mail": "email"}
    )
    assert table.frame.columns == ["_source_file", "_source_row", "email", "firstname"]
    assert table.frame.rows() == [
        ("shop/subs", 1, "a@example.com", "Ann"),
        ("shop/subs", 2, "b@example.com", None),
    ]


def test_numbers_from_pandas_become_text_and_its_index_is_not_a_row_number() -> None:
    frame = pd.DataFrame(
        {"email": ["a@example.com", "b@example.com"], "_source_row": [7, 9], "points": [1, 2]},
        index=[40, 41],
    )
    table = raw_from_frame(TABLES["customers"], frame, "shop/customers")
    assert table.frame.select("_source_row", "email").rows() == [
        (7, "a@example.com"),
        (9, "b@example.com"),
    ]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"email": ["a@example.com"]}, "builtins.dict"),
        (None, "builtins.NoneType"),
        (pd.Series(["a@example.com"], name="email"), "pandas.Series"),
        (pa.chunked_array([["a@example.com"]]), "pyarrow.lib.ChunkedArray"),
    ],
    ids=["dict", "none", "pandas-series", "arrow-array"],
)
def test_anything_but_a_table_is_refused_naming_the_asset_and_type(
    value: object, kind: str
) -> None:
    # pandas 2 names the Series pandas.core.series.Series, pandas 3 pandas.Series.
    package, name = kind.split(".", 1)[0], kind.rsplit(".", 1)[1]
    with pytest.raises(TypeError) as err:
        raw_from_frame(AUDIENCE, value, "shop/subs")
    assert re.fullmatch(
        rf"upstream asset shop/subs delivered {package}\.([\w.]+\.)?{name}: "
        "not a polars, pandas or Arrow table",
        str(err.value),
    ), str(err.value)


def test_a_pandas_table_that_does_not_convert_names_the_asset() -> None:
    # An object column mixing numbers and text is one pandas allows and Arrow refuses.
    frame = pd.DataFrame({"email": ["a@example.com", 5]})
    with pytest.raises(TypeError, match="upstream asset shop/subs delivered pandas"):
        raw_from_frame(AUDIENCE, frame, "shop/subs")
