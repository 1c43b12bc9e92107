"""Every normaliser, fed the dirty values real exports contain, through a Dagster run.

Each case is one input row; the test materializes the real raw and clean assets once per
table and looks the row up by its key in the clean table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import polars as pl
import pytest

from listrak_assets_tests.conftest import Workspace

UTC = dt.UTC


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def _run(
    workspace: Workspace, table: str, header: list[str], rows: list[list[str]]
) -> pl.DataFrame:
    workspace.write(f"{table}.csv", _csv(header, rows))
    result = workspace.materialize(table)
    assert result.success
    return workspace.clean(table)


# --- customers: email, phone, date, gender, boolean, text --------------------------------

# (raw email, mobile phone as written, expected E.164)
PHONES = [
    ("p1@example.com", "(717) 555-9636", "17175559636"),
    ("p2@example.com", "717.555.9636", "17175559636"),
    ("p3@example.com", "+1 717-555-9636", "17175559636"),
    ("p4@example.com", "1-717-555-9636", "17175559636"),
    ("p5@example.com", "7175559636", "17175559636"),
    ("p6@example.com", "+44 20 7946 0958", "442079460958"),
    # From the US the exit code is 011 (00 is Europe's: see the unit tests).
    ("p7@example.com", "011 44 20 7946 0958", "442079460958"),
    ("p8@example.com", "717-555-9636 x12", "17175559636"),
    ("p9@example.com", "717 555 9636 ext. 4", "17175559636"),
]

# (key, birthday as written, expected date)
BIRTHDAYS = [
    ("d1@example.com", "1984-03-07", dt.date(1984, 3, 7)),
    ("d2@example.com", "03/07/1984", dt.date(1984, 3, 7)),
    ("d3@example.com", "3/7/1984", dt.date(1984, 3, 7)),
    ("d4@example.com", "1984/03/07", dt.date(1984, 3, 7)),
    ("d5@example.com", "March 7, 1984", dt.date(1984, 3, 7)),
    ("d6@example.com", "Mar 7 1984", dt.date(1984, 3, 7)),
    ("d7@example.com", "19840307", dt.date(1984, 3, 7)),
    ("d8@example.com", "1984-03-07T00:00:00Z", dt.date(1984, 3, 7)),
    ("d9@example.com", "7 March 1984", dt.date(1984, 3, 7)),
]

# (key, gender as written, expected)
GENDERS = [
    ("g1@example.com", "male", "M"),
    ("g2@example.com", "Female", "F"),
    ("g3@example.com", " m ", "M"),
    ("g4@example.com", "f", "F"),
    ("g5@example.com", "Other", "N"),
    ("g6@example.com", "unknown", None),
    ("g7@example.com", "", None),
]

# (key, registered as written, expected)
BOOLEANS = [
    ("b1@example.com", "Y", True),
    ("b2@example.com", "n", False),
    ("b3@example.com", "yes", True),
    ("b4@example.com", "No", False),
    ("b5@example.com", "true", True),
    ("b6@example.com", "FALSE", False),
    ("b7@example.com", "1", True),
    ("b8@example.com", "0", False),
    ("b9@example.com", "", None),
]

# (email as written, expected key)
EMAILS = [
    ("  John.Doe@Example.COM ", "john.doe@example.com"),
    ("MAILTO:Sales@Shop.Example.org", "sales@shop.example.org"),
    ("<zoe.muller@example.de>", "zoe.muller@example.de"),
]

# (key, first name as written, expected)
NAMES = [
    ("t1@example.com", "José", "José"),
    ("t2@example.com", "  Zoë  ", "Zoë"),
    ("t3@example.com", "Mary\nAnn", "Mary Ann"),
    ("t4@example.com", "Jean\r\n  Luc", "Jean Luc"),
    ("t5@example.com", 'Dwayne "The Rock"', 'Dwayne "The Rock"'),
    ("t6@example.com", "山田", "山田"),
    ("t7@example.com", "A" * 60, "A" * 50),  # cut at Listrak's 50
    ("t8@example.com", "   ", None),
]

CUSTOMER_HEADER = ["EMAIL", "Mobile Phone", "Birthday", "gender", "Registered", "FirstName"]


@pytest.fixture
def customers(workspace: Workspace) -> pl.DataFrame:
    rows = [[k, p, "", "", "", ""] for k, p, _ in PHONES]
    rows += [[k, "", b, "", "", ""] for k, b, _ in BIRTHDAYS]
    rows += [[k, "", "", g, "", ""] for k, g, _ in GENDERS]
    rows += [[k, "", "", "", b, ""] for k, b, _ in BOOLEANS]
    rows += [[e, "", "", "", "", ""] for e, _ in EMAILS]
    rows += [[k, "", "", "", "", n] for k, n, _ in NAMES]
    clean = _run(workspace, "customers", CUSTOMER_HEADER, rows)
    assert workspace.rejects("customers").is_empty()
    return clean


def _value(frame: pl.DataFrame, key_col: str, key: str, column: str) -> object:
    rows = frame.filter(pl.col(key_col) == key)
    assert rows.height == 1, f"{key} not found exactly once"
    return rows[column][0]


def test_phones_become_e164_digits(customers: pl.DataFrame) -> None:
    for key, raw, expected in PHONES:
        assert _value(customers, "email", key, "mobilephone") == expected, raw


def test_dates_in_many_formats_become_iso_dates(customers: pl.DataFrame) -> None:
    assert customers.schema["birthday"] == pl.Date
    for key, raw, expected in BIRTHDAYS:
        assert _value(customers, "email", key, "birthday") == expected, raw


def test_genders_map_to_listrak_codes(customers: pl.DataFrame) -> None:
    for key, raw, expected in GENDERS:
        assert _value(customers, "email", key, "gender") == expected, raw


def test_booleans_in_many_spellings(customers: pl.DataFrame) -> None:
    assert customers.schema["registered"] == pl.Boolean
    for key, raw, expected in BOOLEANS:
        assert _value(customers, "email", key, "registered") == expected, raw


def test_emails_are_trimmed_and_lower_cased(customers: pl.DataFrame) -> None:
    for _, expected in EMAILS:
        assert customers.filter(pl.col("email") == expected).height == 1


def test_text_has_no_line_breaks_and_fits_listrak(customers: pl.DataFrame) -> None:
    for key, raw, expected in NAMES:
        assert _value(customers, "email", key, "firstname") == expected, repr(raw)


def test_dmy_date_order_setting(workspace: Workspace) -> None:
    workspace.settings(date_order="DMY")
    clean = _run(workspace, "customers", ["email", "birthday"], [["a@example.com", "03/07/1984"]])
    assert clean["birthday"].to_list() == [dt.date(1984, 7, 3)]


def test_default_phone_country_setting(workspace: Workspace) -> None:
    workspace.settings(default_phone_country="GB")
    clean = _run(
        workspace,
        "customers",
        ["email", "mobilephone"],
        [["a@example.com", "020 7946 0958"], ["b@example.com", "+1 (717) 555-9636"]],
    )
    assert clean.sort("email")["mobilephone"].to_list() == ["442079460958", "17175559636"]


def test_phone_validation_and_two_digit_year_settings(workspace: Workspace) -> None:
    workspace.settings(
        phone_validation="possible",
        dates={"two_digit_years": "reject"},
        business_user_access={"allow_limited_pii": True},
    )
    clean = _run(
        workspace,
        "customers",
        ["email", "mobilephone", "birthday"],
        [["a@example.com", "+1 (199) 555-0100", "03/07/84"]],
    )
    assert clean.select("mobilephone", "birthday").rows() == [("11995550100", None)]
    assert workspace.rejects("customers").select("column", "value", "reason", "action").rows() == [
        ("birthday", "03/07/84", "two_digit_year", "blanked")
    ]


# --- products: decimals, integers, booleans, timestamps -----------------------------------

# (sku, price as written, expected): exact cents, rounded half away from zero
PRICES = [
    ("s1", "24.99", Decimal("24.99")),
    ("s2", "$1,299.00", Decimal("1299.00")),
    ("s3", " 12 ", Decimal("12.00")),
    ("s4", "€ 5.5", Decimal("5.50")),
    ("s5", "19.999", Decimal("20.00")),
    ("s6", "USD 7", Decimal("7.00")),
    ("s7", "0.125", Decimal("0.13")),
]

# (sku, sale start as written, expected UTC timestamp)
TIMESTAMPS = [
    ("t1", "2024-05-01T13:45:00Z", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("t2", "2024-05-01 13:45:00", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("t3", "05/01/2024 1:45 PM", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("t4", "2024-05-01T09:45:00-04:00", dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
    ("t5", "2024-05-01T13:45:00.250Z", dt.datetime(2024, 5, 1, 13, 45, 0, 250000, tzinfo=UTC)),
    ("t6", "2024-05-01", dt.datetime(2024, 5, 1, tzinfo=UTC)),
]

# (sku, qoh as written, expected)
QUANTITIES = [("q1", "45", 45), ("q2", "1,200", 1200), ("q3", "7.0", 7), ("q4", "", None)]


@pytest.fixture
def products(workspace: Workspace) -> pl.DataFrame:
    header = ["SKU", "Title", "Price", "SaleStartDate", "QOH", "InStock"]
    rows = [[s, "Shirt", p, "", "", ""] for s, p, _ in PRICES]
    rows += [[s, "Shirt", "1", t, "", "yes"] for s, t, _ in TIMESTAMPS]
    rows += [[s, "Shirt", "1", "", q, "N"] for s, q, _ in QUANTITIES]
    clean = _run(workspace, "products", header, rows)
    assert workspace.rejects("products").is_empty()
    return clean


def test_prices_lose_currency_symbols_and_separators(products: pl.DataFrame) -> None:
    assert products.schema["price"] == pl.Decimal(18, 2)
    for sku, raw, expected in PRICES:
        assert _value(products, "sku", sku, "price") == expected, raw


def test_timestamps_become_utc(products: pl.DataFrame) -> None:
    assert products.schema["salestartdate"] == pl.Datetime("us", "UTC")
    for sku, raw, expected in TIMESTAMPS:
        assert _value(products, "sku", sku, "salestartdate") == expected, raw


def test_integers(products: pl.DataFrame) -> None:
    for sku, raw, expected in QUANTITIES:
        assert _value(products, "sku", sku, "qoh") == expected, raw


def test_source_timezone_setting(workspace: Workspace) -> None:
    workspace.settings(source_timezone="America/New_York")
    clean = _run(
        workspace,
        "products",
        ["sku", "title", "price", "salestartdate"],
        [["a", "T", "1", "2024-05-01 09:45:00"], ["b", "T", "1", "2024-05-01T09:45:00Z"]],
    )
    assert clean.sort("sku")["salestartdate"].to_list() == [
        dt.datetime(2024, 5, 1, 13, 45, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 9, 45, tzinfo=UTC),
    ]


def test_decimal_comma_setting(workspace: Workspace) -> None:
    workspace.settings(decimal_separator=",")
    clean = _run(
        workspace,
        "products",
        ["sku", "title", "price", "saleprice", "qoh"],
        [["a", "T", "1.234,56", "€ 12,5", "1.200"], ["b", "T", "12.50", "", ""]],
    )
    # Under `,` the dot groups thousands, so `12.50` is not a number: its row is rejected.
    assert clean.select("sku", "price", "saleprice", "qoh").rows() == [
        ("a", Decimal("1234.56"), Decimal("12.50"), 1200)
    ]
    assert workspace.rejects("products").select("column", "reason").rows() == [
        ("price", "invalid_number")
    ]


# --- orders: status names and numbers, discount types, fallback order number --------------


def test_order_status_discount_type_and_alternate_number(workspace: Workspace) -> None:
    header = [
        "OrderNumber",
        "AlternateOrderNumber",
        "DateEntered",
        "Email",
        "OrderTotal",
        "Status",
        "MerchandiseDiscountType",
    ]
    rows = [
        ["1001", "", "2024-05-01T13:45:00Z", "a@example.com", "10", "Completed", "coupon"],
        ["1002", "", "2024-05-01T13:45:00Z", "a@example.com", "10", "7", "NotSet"],
        ["1003", "", "2024-05-01T13:45:00Z", "a@example.com", "10", "cancelled", "PRICERULE"],
        ["", "A-77", "2024-05-01T13:45:00Z", "a@example.com", "10", "", ""],
    ]
    clean = _run(workspace, "orders", header, rows).sort("ordernumber")
    assert clean["ordernumber"].to_list() == ["1001", "1002", "1003", "A-77"]
    assert clean["status"].to_list() == [8, 7, 10, None]
    assert clean["merchandisediscounttype"].to_list() == ["Coupon", None, "PriceRule", None]


# --- audiences: attribute columns ride along, cleaned ----------------------------------------


def test_email_audience_keeps_attribute_columns(workspace: Workspace) -> None:
    clean = _run(
        workspace,
        "email_audience",
        ["Email", "Loyalty Tier", "favorite_category"],
        [[" A@Example.com", " Gold\n", "Shoes"], ["b@example.com", "", "Hats"]],
    )
    assert clean.columns == ["email", "firstname", "lastname", "Loyalty Tier", "favorite_category"]
    assert clean.sort("email")["Loyalty Tier"].to_list() == ["Gold", None]


def test_sms_audience_numbers_in_many_formats_are_one_contact(workspace: Workspace) -> None:
    workspace.write(
        "sms_audience_old.csv",
        _csv(
            ["Phone Number", "optedout", "updated_at"],
            [["(717) 555-9636", "N", "2024-01-01"], ["+1 717.555.9636", "Y", "2024-03-01"]],
        ),
    )
    clean = _run(
        workspace,
        "sms_audience",
        ["phone", "OptedOut", "updated_at"],
        [["1-717-555-9636", "no", "2024-02-01"]],
    )
    assert clean.select("phone", "optedout").rows() == [("17175559636", True)]
