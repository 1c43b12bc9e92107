"""A table handed over by another asset, read as a raw table: the columns matched as a file's
headers are, everything as text, `_source_file` / `_source_row` kept or derived."""

from __future__ import annotations

import polars as pl
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


def test_anything_but_a_table_is_refused() -> None:
    with pytest.raises(TypeError, match="polars, pandas or Arrow"):
        raw_from_frame(AUDIENCE, {"email": ["a@example.com"]}, "shop/subs")
