"""The inbox reader's core, without Dagster: how headers find Listrak's columns (and agree with
the sinks' profile-field matcher), encodings, line endings, and what an error may quote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW
from listrak_assets.inbox import InputFileError, read_table
from listrak_assets.inbox.csv_shape import (
    delimiters_outside_quotes,
    unclosed_quote,
    with_lf_endings,
)
from listrak_assets.inbox.encoding import to_utf8, wide_encoding
from listrak_assets.inbox.errors import library_problem
from listrak_assets.inbox.reader import _require_rows
from listrak_assets.listrak.fields import ProfileField, match_fields
from listrak_assets.names import column_key, name_key
from listrak_assets.schemas import TABLES

AUDIENCE = TABLES["email_audience"]
CUSTOMERS = TABLES["customers"]


def _read(tmp_path: Path, name: str, data: bytes, **options: object) -> pl.DataFrame:
    path = tmp_path / name
    path.write_bytes(data)
    spec = TABLES[next(t for t in sorted(TABLES, key=len, reverse=True) if name.startswith(t))]
    return read_table(spec, [path], **options).frame  # type: ignore[arg-type]


def _error(tmp_path: Path, name: str, data: bytes, **options: object) -> str:
    with pytest.raises(InputFileError) as caught:
        _read(tmp_path, name, data, **options)
    return str(caught.value)


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "firstname",
        "First Name",
        "first_name",
        "FIRST-NAME",
        " First  Name ",
        "first\u200bname",
        "\uff26\uff49\uff52\uff53\uff54\uff2e\uff41\uff4d\uff45",
    ],  # fmt: skip
)
def test_a_header_finds_listraks_column_whatever_its_spelling(header: str) -> None:
    assert column_key(header) == "firstname"


def test_listrak_profile_fields_still_compare_by_case_and_surrounding_spaces_only() -> None:
    assert name_key(" First Name ") == name_key("first name")
    assert name_key("first name") != name_key("firstname")


def test_the_reader_and_the_profile_field_matcher_agree(tmp_path: Path) -> None:
    """`First Name` is Listrak's `firstname` (not a new profile field); an attribute keeps its
    name, and the sinks find its field the way Listrak compares names."""
    frame = _read(
        tmp_path,
        "email_audience.csv",
        b"E-Mail,First Name,Favorite Color,TIER\na@example.com,Ann,red,gold\n",
    )
    assert frame.columns == ["_source_file", "_source_row", "email", "firstname",
                             "Favorite Color", "TIER"]  # fmt: skip
    fields = [
        ProfileField(1, "FirstName", "Text", 50),
        ProfileField(2, "favorite color", "Text", 50),
        ProfileField(3, "Tier", "Text", 50),
    ]
    match = match_fields(frame.columns[3:], fields, "fail", ValueError)
    assert {c: f.field_id for c, f in match.mapped.items()} == {
        "firstname": 1,
        "Favorite Color": 2,
        "TIER": 3,
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # One profile field to Listrak: two columns would fight over it.
        (b"email,Tier,TIER \n", "columns 'Tier' and 'TIER ' both map to 'TIER'"),
        (b"email,Email\n", "columns 'email' and 'Email' both map to 'email'"),
        (b"email,tier,tier\n", "column 'tier' appears twice (columns 2 and 3)"),
    ],
)
def test_two_headers_for_one_column_fail_naming_both(
    tmp_path: Path, header: bytes, expected: str
) -> None:
    row = b",".join([b"a@example.com"] + [b"1"] * header.count(b","))
    message = _error(tmp_path, "email_audience.csv", header + row + b"\n")
    assert message.startswith(f"email_audience.csv, line 1: {expected}")


def test_a_header_named_like_a_bookkeeping_column_fails(tmp_path: Path) -> None:
    message = _error(tmp_path, "email_audience.csv", b"email,_source_row\na@example.com,9\n")
    assert message.startswith("email_audience.csv, line 1: column '_source_row' has a name the")


# --- what a message may quote ---------------------------------------------------------------


def test_a_headerless_file_is_quoted_masked_only_when_pii_is_restricted(tmp_path: Path) -> None:
    data = b"ann.lee@example.com,Ann\nbob@example.com,Bob\n"
    restricted = _error(tmp_path, "customers.csv", data, restrict_pii=True)
    assert restricted == (
        "customers.csv, line 1: the first line looks like a data row, not a header: column 1 "
        "('a***@***') holds an email address or phone number; add the header row"
    )
    allowed = _error(tmp_path, "customers.csv", data, restrict_pii=False)
    assert "('ann.lee@example.com')" in allowed


def test_the_found_list_of_a_missing_column_is_short(tmp_path: Path) -> None:
    headers = ",".join(f"col{i}" for i in range(30))
    data = headers.encode() + b"\n" + b"1," * 29 + b"1\n"
    message = _error(tmp_path, "customers.csv", data, restrict_pii=False)
    assert "(found: col0, col1," in message
    assert "col19 and 10 more)" in message


def test_unmatched_headers_of_a_file_without_email_show_one_character(tmp_path: Path) -> None:
    """A headerless row without an address or phone: its values are still a customer's."""
    data = b"C-1,Ann,Lee\nC-2,Bob,Ray\n"
    message = _error(tmp_path, "customers.csv", data, restrict_pii=True)
    assert "(found: C***, A***, L***)" in message
    data = b"CustomerNumber,E-mail Address\nC-1,\n"
    message = _error(tmp_path, "customers.csv", data, restrict_pii=True)
    assert "(found: CustomerNumber, E***)" in message  # a matched header is shown whole


def test_a_polars_error_is_shown_without_the_cell_it_quotes() -> None:
    with pytest.raises(pl.exceptions.PolarsError) as caught:
        pl.read_csv(b"n\nAnn Lee\n", schema={"n": pl.Int64})
    assert "Ann Lee" in str(caught.value)  # polars quotes the cell
    assert "Ann Lee" not in library_problem(caught.value, restrict_pii=True)
    assert "Ann Lee" in library_problem(caught.value, restrict_pii=False)


def test_a_parquet_column_that_cant_become_text_is_named(tmp_path: Path) -> None:
    path = tmp_path / "products.parquet"
    frame = pl.DataFrame({"sku": ["A"], "title": ["T"], "price": [1.0], "wait": [dt.timedelta(1)]})
    frame.write_parquet(path)
    with pytest.raises(InputFileError) as caught:
        read_table(TABLES["products"], [path])
    assert str(caught.value).startswith(
        "products.parquet, column 'wait': type Duration(time_unit='us') can't be read as text"
    )


# --- encodings ------------------------------------------------------------------------------

TEXT = "email,firstname\na@example.com,Zoë\n"


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_byte_order_mark_says_the_encoding(codec: str) -> None:
    assert to_utf8("x.csv", TEXT.encode(codec)) == TEXT.encode()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_encodings_without_a_mark_are_recognised_and_read_when_configured(
    codec: str,
) -> None:
    data = TEXT.encode(codec)
    assert wide_encoding(data) == codec
    with pytest.raises(InputFileError, match=f"not UTF-8 \\(looks like {codec.upper()} "):
        to_utf8("x.csv", data)
    assert to_utf8("x.csv", data, codec) == TEXT.encode()


def test_latin1_fails_by_default_and_reads_when_configured() -> None:
    data = TEXT.encode("latin-1")
    with pytest.raises(InputFileError, match=r"line 2: not valid UTF-8 \(byte 0xeb"):
        to_utf8("x.csv", data)
    assert to_utf8("x.csv", data, "latin-1") == TEXT.encode()


def test_plain_utf8_text_is_not_taken_for_a_wide_encoding() -> None:
    assert wide_encoding(TEXT.encode()) is None
    assert wide_encoding("名前,メール\n山田,x@example.jp\n".encode()) is None


# --- line endings and quotes ----------------------------------------------------------------


def test_lone_crs_end_lines_but_not_inside_quotes() -> None:
    data = b'a,b\r1,"x\ry"\r\n2,z\n3,w\r'
    assert with_lf_endings(data) == b'a,b\n1,"x\ry"\r\n2,z\n3,w\n'
    assert with_lf_endings(b"a\r\nb\r\n") == b"a\r\nb\r\n"
    assert with_lf_endings(b'a,b\n1,"x"\n') == b'a,b\n1,"x"\n'


def test_a_quote_that_never_closes_is_found_on_its_line() -> None:
    assert unclosed_quote(b'a,b\n1,"x""y"\n2,"z\n3,w\n') == 3
    assert unclosed_quote(b'a,b\n1,"x\ny"\n') is None


def test_lines_that_yield_no_row_fail_the_file(tmp_path: Path) -> None:
    """The backstop behind the line-ending fix: lines after the header and no row read."""
    header_only = pl.DataFrame({"column_1": ["email"]})
    _require_rows(tmp_path / "a.csv", b"email\n", header_only)  # a real empty table
    with pytest.raises(InputFileError, match="a.csv: has 2 lines but no data row was read"):
        _require_rows(tmp_path / "a.csv", b"email\na@example.com\n", header_only)


def test_delimiters_inside_quoted_values_dont_count() -> None:
    assert delimiters_outside_quotes(b'a,b\n"x,y",z\n"say ""hi, there""",w\n') == 3
    assert delimiters_outside_quotes(b"a;b\n1;2\n", ";") == 2


def test_a_short_row_among_quoted_delimiters_is_found_by_its_line(tmp_path: Path) -> None:
    # polars fills the short row with nulls; the delimiter count gives it away.
    data = b'email,firstname,lastname\n"a@example.com","Lee, Ann",X\nb@example.com,Bob\n'
    message = _error(tmp_path, "customers.csv", data)
    assert message.startswith("customers.csv, line 3: row has 2 fields but the header has 3")


def test_blank_lines_dont_make_a_file_ragged(tmp_path: Path) -> None:
    frame = _read(tmp_path, "customers.csv", b"email,firstname\n\na@example.com,Ann\n\n")
    assert ("a@example.com", "Ann") in frame.select("email", "firstname").rows()


def test_a_table_of_several_files_has_the_bookkeeping_columns_first(tmp_path: Path) -> None:
    paths = []
    for name, data in [
        ("customers_1.csv", b"email\na@x.org\n"),
        ("customers_2.csv", b"email\nb@x.org\n"),
    ]:
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    frame = read_table(CUSTOMERS, paths).frame
    assert frame.columns == [SOURCE_FILE, SOURCE_ROW, "email"]
    assert frame.get_column("email").to_list() == ["a@x.org", "b@x.org"]
