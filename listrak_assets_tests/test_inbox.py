"""Unreadable inputs and bad settings fail the run with a message that names the file, line
and column (or the setting), through Dagster."""

from __future__ import annotations

import polars as pl
import pytest

from listrak_assets.defs.keys import raw_key
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization


def _only_failure(workspace: Workspace, table: str) -> str:
    result = workspace.materialize(table)
    assert not result.success
    messages = failure_messages(result)
    assert len(messages) == 1
    return messages[0]


def test_missing_required_column_names_file_line_and_column(workspace: Workspace) -> None:
    workspace.write("products.csv", "SKU,Title\nA,Shirt\n")
    message = _only_failure(workspace, "products")
    assert message.startswith("products.csv, line 1, column 'price': required column 'price'")
    assert "columns:" in message  # says how to map another name


def test_columns_mapping_renames_source_names(workspace: Workspace) -> None:
    workspace.settings(columns={"products": {"Item Number": "sku", "Cost": "price"}})
    workspace.write("products.csv", "item number,Title,COST\nA,Shirt,$5\n")
    result = workspace.materialize("products")
    assert result.success
    assert workspace.clean("products").select("sku", "price").rows() == [("A", 5.0)]


def test_invalid_utf8_names_the_line(workspace: Workspace) -> None:
    data = b"email,firstname\na@example.com,Ann\nb@example.com,Jos" + b"\xe9\n"
    workspace.write("customers.csv", data)
    message = _only_failure(workspace, "customers")
    assert message.startswith("customers.csv, line 3: not valid UTF-8 (byte 0xe9")
    assert "encoding:" in message


def test_other_encodings_are_read_when_configured(workspace: Workspace) -> None:
    workspace.settings(encoding="latin-1")
    workspace.write("customers.csv", "email,firstname\nb@example.com,José\n".encode("latin-1"))
    assert workspace.materialize("customers").success
    assert workspace.clean("customers")["firstname"].to_list() == ["José"]


def test_a_utf8_byte_order_mark_is_ignored(workspace: Workspace) -> None:
    workspace.write("customers.csv", "\ufeffEmail,FirstName\na@example.com,Ann\n".encode())
    assert workspace.materialize("customers").success
    assert workspace.clean("customers")["email"].to_list() == ["a@example.com"]


@pytest.mark.parametrize(
    ("body", "line", "fields"),
    [
        # A short row: polars alone would fill it with nulls without a word.
        ("a@example.com,Ann,Lee\nb@example.com,Bob\n", 3, 2),
        # A long row after a quoted value that spans two lines: the physical line is named.
        ('"a@example.com","Mary\nAnn",Lee\nb@example.com,Bob,Ray,extra\n', 4, 4),
    ],
)
def test_ragged_rows_name_the_line(workspace: Workspace, body: str, line: int, fields: int) -> None:
    workspace.write("customers.csv", "email,firstname,lastname\n" + body)
    message = _only_failure(workspace, "customers")
    assert message.startswith(
        f"customers.csv, line {line}: row has {fields} fields but the header has 3"
    )


def test_empty_file(workspace: Workspace) -> None:
    workspace.write("customers.csv", "")
    assert _only_failure(workspace, "customers").startswith(
        "customers.csv, line 1: the file is empty"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"email\ra@example.com\rb@example.com\r",  # CR only (old Mac style)
        b"email\r\na@example.com\nb@example.com\r",  # CRLF, LF and CR in one file
    ],
)
def test_cr_only_and_mixed_line_endings_are_read(workspace: Workspace, data: bytes) -> None:
    # CR-only files used to read as one long header and 0 rows.
    workspace.write("email_audience.csv", data)
    result = workspace.materialize("email_audience")
    assert result.success, failure_messages(result)
    assert workspace.raw("email_audience").select("_source_row", "email").rows() == [
        (1, "a@example.com"),
        (2, "b@example.com"),
    ]


def test_a_header_only_file_is_an_empty_table(workspace: Workspace) -> None:
    workspace.write("email_audience.csv", "email\n")
    result = workspace.materialize("email_audience")
    assert result.success, failure_messages(result)
    assert workspace.raw("email_audience").height == 0


def test_damaged_parquet(workspace: Workspace) -> None:
    workspace.write("products.parquet", b"PAR1 not really parquet")
    assert _only_failure(workspace, "products").startswith(
        "products.parquet: not a readable Parquet file"
    )


def test_parquet_input_with_typed_columns(workspace: Workspace) -> None:
    pl.DataFrame(
        {"SKU": ["A", "B"], "title": ["x", "y"], "Price": [1.5, 2.0], "QOH": [3, None]}
    ).write_parquet(workspace.inbox / "products.parquet")
    result = workspace.materialize("products")
    assert result.success
    clean = workspace.clean("products").sort("sku")
    assert clean.select("sku", "price", "qoh").rows() == [("A", 1.5, 3), ("B", 2.0, None)]
    files = materialization(result, raw_key("products"))["files"]
    assert [f["name"] for f in files] == ["products.parquet"]


def test_files_of_one_table_are_combined_and_others_ignored(workspace: Workspace) -> None:
    workspace.write("customers_2026-01.csv", "email\na@example.com\n")
    workspace.write("customers_2026-02.csv", "email\nb@example.com\n")
    workspace.write("customersx.csv", "not,a,customer,file\n")
    workspace.write("notes.txt", "hello\n")
    result = workspace.materialize("customers")
    assert result.success
    raw = workspace.raw("customers")
    assert raw.select("_source_file", "_source_row", "email").rows() == [
        ("customers_2026-01.csv", 1, "a@example.com"),
        ("customers_2026-02.csv", 1, "b@example.com"),
    ]


def test_unknown_columns_of_commerce_tables_are_reported(workspace: Workspace) -> None:
    workspace.write("products.csv", "sku,title,price,warehouse_bin\nA,T,1,B-12\n")
    result = workspace.materialize("products")
    assert result.success
    assert materialization(result, raw_key("products"))["ignored_columns"] == {
        "products.csv": ["warehouse_bin"]
    }
    assert "warehouse_bin" not in workspace.clean("products").columns


def test_two_columns_mapping_to_one_name(workspace: Workspace) -> None:
    workspace.write("customers.csv", "Email,EMAIL\na@example.com,b@example.com\n")
    message = _only_failure(workspace, "customers")
    assert message == (
        "customers.csv, line 1: columns 'Email' and 'EMAIL' both map to 'email'; drop one or "
        "rename it with `columns:` in listrak.yaml"
    )


# --- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"lsit_name": "x"}, "'lsit_name': Extra inputs are not permitted"),
        (
            {"default_phone_country": "XX"},
            "'default_phone_country': Value error, unknown country 'XX'",
        ),
        (
            {"unmatched_columns": "ignore"},
            "'unmatched_columns': Input should be 'fail', 'warn' or 'create'",
        ),
        ({"source_timezone": "Mars/Olympus"}, "'source_timezone': Value error, unknown time zone"),
        ({"decimal_separator": ";"}, "'decimal_separator': Input should be '.' or ','"),
        ({"invalid_optional": "drop"}, "'invalid_optional': Input should be 'blank' or"),
        ({"dates": {"two_digit_years": "guess"}}, "'dates.two_digit_years'"),
        (
            {"business_user_access": {"allow_limited_pii": "perhaps"}},
            "'business_user_access.allow_limited_pii'",
        ),
        (
            {"email": {"guard": {"max_shrink_share": 1.5}}},
            "'email.guard.max_shrink_share': Input should be less than or equal to 1",
        ),
        (
            {"sms": {"guard": {"max_leaver_share": -0.1}}},
            "'sms.guard.max_leaver_share': Input should be greater than or equal to 0",
        ),
        (
            {"sms": {"guard": {"max_leavers": -1}}},
            "'sms.guard.max_leavers': Input should be greater than or equal to 0",
        ),
        (
            {"sftp": {"enabled": "sometimes"}},
            "'sftp.enabled': Input should be a valid boolean",
        ),
        (
            {"inbox_settle_seconds": -5},
            "'inbox_settle_seconds': Input should be greater than or equal to 0",
        ),
        (
            {"columns": {"shoppers": {"a": "email"}}},
            "'columns': Value error, unknown table 'shoppers'",
        ),
        (
            {"columns": {"products": {"Cost": "cost"}}},
            "'Cost' maps to 'cost', which is not a column of products",
        ),
    ],
)
def test_bad_settings_name_the_key(workspace: Workspace, overrides: dict, expected: str) -> None:
    workspace.settings(**overrides)
    workspace.write("customers.csv", "email\na@example.com\n")
    workspace.write("products.csv", "sku,title,price\nA,T,1\n")
    message = _only_failure(workspace, "customers")
    assert message.startswith(f"{workspace.config}: bad setting ")
    assert expected in message


def test_invalid_yaml(workspace: Workspace) -> None:
    workspace.config.write_text("name: [unclosed\n")
    assert "not valid YAML" in _only_failure(workspace, "customers")


def test_missing_settings_file(workspace: Workspace) -> None:
    workspace.config.unlink()
    message = _only_failure(workspace, "customers")
    assert "not found" in message and "LISTRAK_CONFIG" in message
