"""The Listrak file writer: names, column order, value formats, quoting, compression and
splitting. The clean tables come from the sample data, so the files hold realistic values:
non-ASCII names, commas and quotes in text, empty values, every column kind."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pytest

from listrak_assets.cleaning.table import CleanOptions, clean_table
from listrak_assets.file_names import compressed_name, part_name
from listrak_assets.files import (
    DEFAULT_TEMPLATES,
    FileOptions,
    check_template,
    listrak_frame,
    render,
    variants,
    write_files,
)
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import Kind, TableSpec
from listrak_assets.schemas.validation import DTYPES
from listrak_assets.settings import SettingsError, load_settings
from listrak_assets_tests.conftest import REPO, raw_table

FILE_TABLES = ["customers", "products", "orders", "order_items"]
DAY = dt.date(2026, 1, 2)


@pytest.fixture(scope="module")
def clean_tables() -> dict[str, pl.DataFrame]:
    inbox = REPO / "data" / "inbox"
    return {
        table: clean_table(raw_table(inbox, table), TABLES[table], CleanOptions(today=DAY)).clean
        for table in FILE_TABLES
    }


def read_listrak_csv(data: bytes | Path, spec: TableSpec) -> pl.DataFrame:
    """A Listrak file read back into the clean table's types."""
    text = pl.read_csv(data, infer_schema=False)
    casts = []
    for col in spec.columns:
        value = pl.col(col.name)
        if col.kind is Kind.DATE:
            value = value.str.to_date("%Y-%m-%d")
        elif col.kind is Kind.DATETIME:
            value = value.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC")
        elif col.kind is Kind.BOOLEAN:
            value = value.replace_strict({"true": True, "false": False}, return_dtype=pl.Boolean)
        else:
            value = value.cast(DTYPES[col.kind])
        casts.append(value)
    return text.with_columns(casts)


def as_written(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """What the file should hold: Listrak's columns, timestamps to the second."""
    return listrak_frame(frame, spec).with_columns(pl.col(pl.Datetime).dt.truncate("1s"))


# -- names -----------------------------------------------------------------------------------


def test_default_names_are_listraks() -> None:
    names = {t: render(DEFAULT_TEMPLATES[t], DAY) for t in FILE_TABLES}
    assert names == {
        "customers": "Listrak_Customer_20260102.csv",
        "products": "Listrak_Product_Feed_20260102.csv",
        "orders": "Listrak_Order_Feed_20260102.csv",
        "order_items": "Listrak_OrderItem_Feed_20260102.csv",
    }


def test_templates_take_other_names() -> None:
    assert render("Orders.txt", DAY) == "Orders.txt"
    assert render("acme_{date}_orders.csv", DAY) == "acme_20260102_orders.csv"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("", "can't be empty"),
        ("out/Listrak_Customer_{date}.csv", "is a path"),
        ("Listrak_Customer_{day}.csv", "unknown token"),
        ("Listrak_Customer_{date.csv", "not a valid template"),
        (".Listrak_Customer_{date}.csv", "starts with a dot"),
    ],
)
def test_bad_templates_are_refused(template: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_template(template)


def test_part_and_compressed_names() -> None:
    name = "Listrak_Order_Feed_20260102.csv"
    assert part_name(name, 2, 3) == "Listrak_Order_Feed_20260102_002.csv"
    assert part_name(name, 7, 1200) == "Listrak_Order_Feed_20260102_0007.csv"
    assert compressed_name(name, "gzip") == "Listrak_Order_Feed_20260102.csv.gz"
    assert compressed_name(name, "zip") == "Listrak_Order_Feed_20260102.zip"
    assert compressed_name("Orders", "zip") == "Orders.zip"


def test_variants_cover_one_file_of_one_day_and_nothing_else() -> None:
    pattern = variants("Listrak_Order_Feed_20260102.csv")
    same = [
        "Listrak_Order_Feed_20260102.csv",
        "Listrak_Order_Feed_20260102_001.csv",
        "Listrak_Order_Feed_20260102_0012.csv.gz",
        "Listrak_Order_Feed_20260102.zip",
        "Listrak_Order_Feed_20260102_002.zip.DONE",
        "Listrak_Order_Feed_20260102.csv.DONE",
    ]
    others = [
        "Listrak_Order_Feed_20260103.csv",
        "Listrak_OrderItem_Feed_20260102.csv",
        "Listrak_Order_Feed_20260102.csv.bak",
        "Listrak_Order_Feed_20260102_1.csv",
        "XListrak_Order_Feed_20260102.csv",
    ]
    assert [n for n in same if pattern.fullmatch(n)] == same
    assert [n for n in others if pattern.fullmatch(n)] == []


# -- contents --------------------------------------------------------------------------------


@pytest.mark.parametrize("table", FILE_TABLES)
def test_the_file_has_listraks_columns_and_round_trips(
    table: str, clean_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    spec, clean = TABLES[table], clean_tables[table]
    assert clean.height > 50
    name = render(DEFAULT_TEMPLATES[table], DAY)
    [written] = write_files(clean, spec, name, tmp_path, FileOptions())
    assert (written.name, written.rows) == (name, clean.height)
    data = written.path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # UTF-8 without a byte-order mark
    data.decode("utf-8")
    header, *lines = data.decode().split("\n")
    assert header == ",".join(spec.column_names)
    assert lines[-1] == ""  # every record ends with a line feed, and no CR anywhere
    assert b"\r" not in data
    back = read_listrak_csv(data, spec)
    assert back.height == clean.height  # no value broke a record in two
    assert back.equals(as_written(clean, spec))


def test_values_take_listraks_formats(clean_tables: dict[str, pl.DataFrame]) -> None:
    orders = (
        clean_tables["orders"]
        .head(1)
        .with_columns(
            pl.lit(dt.datetime(2018, 8, 23, 17, 23, 48, 123456, tzinfo=dt.UTC)).alias(
                "dateentered"
            ),
            pl.lit(47.0).alias("ordertotal"),
            pl.lit(None, pl.Float64).alias("taxtotal"),
            pl.lit(7, pl.Int64).alias("status"),
            pl.lit('Flash "sale", all\r\nday').alias("merchandisediscountdescription"),
            pl.lit("0531435151").alias("ordernumber"),
        )
    )
    [row] = read_csv_rows(orders, TABLES["orders"])
    assert row["dateentered"] == "2018-08-23T17:23:48Z"
    assert row["ordertotal"] == "47.00"
    assert row["taxtotal"] == ""
    assert row["status"] == "7"
    assert row["ordernumber"] == "0531435151"  # text keeps its leading zero
    assert row["merchandisediscountdescription"] == 'Flash "sale", all day'

    customers = (
        clean_tables["customers"]
        .head(2)
        .with_columns(
            pl.Series("birthday", [dt.date(1984, 3, 7), None]),
            pl.Series("registered", [True, None]),
            pl.Series("firstname", ["Zoë", "Ünal"]),
        )
    )
    first, second = read_csv_rows(customers, TABLES["customers"])
    assert (first["birthday"], first["registered"], first["firstname"]) == (
        "1984-03-07",
        "true",
        "Zoë",
    )
    assert (second["birthday"], second["registered"]) == ("", "")


def read_csv_rows(
    frame: pl.DataFrame, spec: TableSpec, options: FileOptions | None = None
) -> list[dict[str, str]]:
    """The rows of the file written from `frame`, as Python's csv module reads them."""
    with tempfile.TemporaryDirectory() as folder:
        [written] = write_files(frame, spec, "x.csv", Path(folder), options or FileOptions())
        raw = written.path.read_text(encoding="utf-8")
    # A quoted value may hold the delimiter or a quote, never a line break.
    assert len(raw.splitlines()) == frame.height + 1
    return list(csv.DictReader(io.StringIO(raw)))


def test_text_with_the_delimiter_or_quotes_is_qualified(tmp_path: Path) -> None:
    spec = TABLES["products"]
    frame = pl.DataFrame(
        {"sku": ["A,1", 'B"2', "C3"], "title": ["x", "y", "z"], "price": [1.0, 2.0, 3.0]}
    )
    frame = frame.with_columns(
        pl.lit(None, DTYPES[c.kind]).alias(c.name) for c in spec.columns if c.name not in frame
    )
    [written] = write_files(frame, spec, "p.csv", tmp_path, FileOptions())
    lines = written.path.read_text().splitlines()
    assert lines[1].startswith('"A,1",x,1.00,')
    assert lines[2].startswith('"B""2",y,2.00,')
    assert lines[3].startswith("C3,z,3.00,")


# -- options ---------------------------------------------------------------------------------

# Text a spreadsheet would run as a formula, and what the guard writes for it.
FORMULAS = {
    '=HYPERLINK("http://x.example","open")': '\'=HYPERLINK("http://x.example","open")',
    "+1 555 0100": "'+1 555 0100",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "  =1+1": "'  =1+1",  # after trimming
    "Ann-Marie": "Ann-Marie",  # only the first character counts
    "a=b": "a=b",
    "'quoted": "'quoted",
}


def _customers(clean_tables: dict[str, pl.DataFrame], names: list[str]) -> pl.DataFrame:
    """Clean customers with these first names and, on the first row, values of other kinds
    that may start with a formula character: an email, a negative-free phone, a birthday."""
    rows = clean_tables["customers"].head(len(names))
    return rows.with_columns(
        pl.Series("firstname", names),
        pl.Series("lastname", ["-Smith", *rows["lastname"][1:]]),
        pl.Series("email", ["-ann@example.com", *rows["email"][1:]]),
        pl.Series("address2", ["@ the back door", *rows["address2"][1:]]),
    )


@pytest.mark.parametrize("guard", [True, False])
def test_formula_guard_prefixes_text_a_spreadsheet_would_run(
    clean_tables: dict[str, pl.DataFrame], guard: bool
) -> None:
    spec = TABLES["customers"]
    customers = _customers(clean_tables, list(FORMULAS))
    rows = read_csv_rows(customers, spec, FileOptions(formula_guard=guard))
    expected = list(FORMULAS.values()) if guard else list(FORMULAS)
    assert [r["firstname"] for r in rows] == expected
    first = rows[0]
    assert first["lastname"] == ("'-Smith" if guard else "-Smith")
    assert first["address2"] == ("'@ the back door" if guard else "@ the back door")
    # The email is the customer's key: never changed, though it starts with `-`.
    assert first["email"] == "-ann@example.com"
    # The other columns are as without the guard.
    plain = read_csv_rows(customers, spec)
    text = {"firstname", "lastname", "address2"}
    assert [{k: v for k, v in r.items() if k not in text} for r in rows] == [
        {k: v for k, v in r.items() if k not in text} for r in plain
    ]


def test_formula_guard_leaves_numbers_and_phones_alone() -> None:
    spec = TABLES["products"]
    frame = pl.DataFrame(
        {"sku": ["-A1", "B2"], "title": ["+new", "@home"], "price": [-5.0, 2.0]}
    ).with_columns(
        pl.lit(None, DTYPES[c.kind]).alias(c.name)
        for c in spec.columns
        if c.name not in {"sku", "title", "price"}
    )
    first, second = read_csv_rows(frame, spec, FileOptions(formula_guard=True))
    assert (first["sku"], first["title"], first["price"]) == ("'-A1", "'+new", "-5.00")
    assert (second["sku"], second["title"], second["price"]) == ("B2", "'@home", "2.00")
    customers = pl.DataFrame(
        {"email": ["a@example.com"], "mobilephone": ["15555550100"], "firstname": ["=x"]}
    ).with_columns(
        pl.lit(None, DTYPES[c.kind]).alias(c.name)
        for c in TABLES["customers"].columns
        if c.name not in {"email", "mobilephone", "firstname"}
    )
    [row] = read_csv_rows(customers, TABLES["customers"], FileOptions(formula_guard=True))
    assert (row["mobilephone"], row["firstname"]) == ("15555550100", "'=x")


def test_formula_guard_keeps_free_text_within_its_limit() -> None:
    spec = TABLES["customers"]
    limit = next(c.max_len for c in spec.columns if c.name == "firstname")
    assert limit is not None
    name = "=" + "x" * (limit - 1)
    frame = pl.DataFrame({"email": ["a@example.com"], "firstname": [name]}).with_columns(
        pl.lit(None, DTYPES[c.kind]).alias(c.name)
        for c in spec.columns
        if c.name not in {"email", "firstname"}
    )
    [row] = read_csv_rows(frame, spec, FileOptions(formula_guard=True))
    assert row["firstname"] == ("'" + name)[:limit]
    assert len(row["firstname"]) == limit


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("false", False), ("yes", True), (None, False)]
)
def test_formula_guard_setting(tmp_path: Path, value: str | None, expected: bool) -> None:
    config = tmp_path / "listrak.yaml"
    config.write_text("sftp: {}\n" if value is None else f"sftp:\n  formula_guard: {value}\n")
    assert load_settings(config).sftp.formula_guard is expected


@pytest.mark.parametrize("value", ["maybe", "'on'", "2"])
def test_an_unknown_formula_guard_value_is_refused(tmp_path: Path, value: str) -> None:
    config = tmp_path / "listrak.yaml"
    config.write_text(f"sftp:\n  formula_guard: {value}\n")
    with pytest.raises(SettingsError, match=re.escape("bad setting 'sftp.formula_guard'")):
        load_settings(config)


def test_split_files_each_have_a_header_and_their_share_of_rows(
    clean_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    spec, clean = TABLES["customers"], clean_tables["customers"]
    per_file = clean.height // 3 + 1
    files = write_files(
        clean, spec, "Listrak_Customer_20260102.csv", tmp_path, FileOptions(split_rows=per_file)
    )
    assert [f.name for f in files] == [f"Listrak_Customer_20260102_00{i}.csv" for i in (1, 2, 3)]
    assert [f.rows for f in files] == [per_file, per_file, clean.height - 2 * per_file]
    parts = [read_listrak_csv(f.path, spec) for f in files]
    assert [p.height for p in parts] == [f.rows for f in files]
    assert pl.concat(parts).equals(as_written(clean, spec))


def test_a_table_smaller_than_the_split_is_one_file_under_the_plain_name(
    clean_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    clean = clean_tables["products"]
    files = write_files(clean, TABLES["products"], "p.csv", tmp_path, FileOptions(split_rows=10**6))
    assert [f.name for f in files] == ["p.csv"]


def test_an_empty_table_is_a_header_only_file(tmp_path: Path) -> None:
    spec = TABLES["order_items"]
    empty = pl.DataFrame(schema={c.name: DTYPES[c.kind] for c in spec.columns})
    [written] = write_files(empty, spec, "i.csv", tmp_path, FileOptions(split_rows=5))
    assert written.rows == 0
    assert written.path.read_text() == ",".join(spec.column_names) + "\n"


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_gzip_and_zip_hold_the_same_csv(
    clean_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    spec, clean = TABLES["order_items"], clean_tables["order_items"]
    name = "Listrak_OrderItem_Feed_20260102.csv"
    [plain] = write_files(clean, spec, name, _folder(tmp_path / "plain"), FileOptions())
    [gz] = write_files(clean, spec, name, _folder(tmp_path / "gz"), FileOptions("gzip"))
    [zp] = write_files(clean, spec, name, _folder(tmp_path / "zip"), FileOptions("zip"))
    assert gz.name == name + ".gz" and zp.name == "Listrak_OrderItem_Feed_20260102.zip"
    expected = plain.path.read_bytes()
    assert gzip.decompress(gz.path.read_bytes()) == expected
    with zipfile.ZipFile(zp.path) as archive:
        assert archive.namelist() == [name]
        assert archive.read(name) == expected
    # Only the compressed file is left to upload.
    assert [p.name for p in (tmp_path / "gz").iterdir()] == [gz.name]
    assert gz.size < len(expected) and zp.size < len(expected)


def test_gzip_output_does_not_depend_on_the_day_it_is_written(
    clean_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    spec, clean = TABLES["products"], clean_tables["products"]
    first = write_files(clean, spec, "a.csv", _folder(tmp_path / "1"), FileOptions("gzip"))[0]
    second = write_files(clean, spec, "a.csv", _folder(tmp_path / "2"), FileOptions("gzip"))[0]
    assert first.path.read_bytes() == second.path.read_bytes()


def test_a_frame_without_a_listrak_column_is_refused(tmp_path: Path) -> None:
    frame = pl.DataFrame({"sku": ["A"]})
    with pytest.raises(ValueError, match=re.escape("no column(s) title")):
        write_files(frame, TABLES["products"], "p.csv", tmp_path, FileOptions())
