"""The sample-data generator writes what its manifest says.

Every count is re-derived from the files with checks written here, independently of the
generator's own code: a regex for e-mails, the reference library `phonenumbers` for phones
(not the generator's idea of a phone), a small date parser with the documented two-digit-year
pivot, the schemas' length limits. If the generator drifts (a reject row that also carries
cosmetic dirt, a duplicate that is not counted, an orphan that is really a rejected order),
these tests fail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import zoneinfo
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import phonenumbers
import polars as pl
import pytest

from listrak_assets.generator import generate, main
from listrak_assets.schemas import TABLES, Kind, Overflow
from listrak_assets_tests.conftest import REPO

FILES = {
    "customers.csv": "customers",
    "products.parquet": "products",
    "orders.csv": "orders",
    "order_items.csv": "order_items",
    "email_audience.csv": "email_audience",
    "sms_audience.csv": "sms_audience",
}
# Header spellings the settings file maps by name: they must stay exactly so.
EXACT_HEADERS = {
    "customers.csv": ["Zip", "Mobile Phone", "updated_at"],
    "sms_audience.csv": ["Phone Number", "updated_at"],
}
SPEC_NAME = {"zip": "zipcode", "mobile phone": "mobilephone", "phone number": "phone"}
REQUIRED = {
    "customers.csv": "email customernumber mobilephone birthday gender firstname lastname "
    "address1 address2 city state zipcode country registered",
    "products.parquet": "sku title price description imageurl linkurl brand category "
    "subcategory mastersku qoh instock onsale saleprice",
    "orders.csv": "ordernumber dateentered email customernumber itemtotal shippingtotal "
    "taxtotal ordertotal status shipdate couponcode",
    "order_items.csv": "ordernumber sku status quantity price discountedprice itemtotal",
    "email_audience.csv": "email firstname lastname loyalty_tier favorite_category",
    "sms_audience.csv": "phone optedout email firstname loyalty_tier",
}

Row = dict[str, str | None]
Check = Callable[[Row], bool]

# ---------------------------------------------------------------------------------------------
# Independent value checks
# ---------------------------------------------------------------------------------------------

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DATE_INPUTS = ["%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%B %d, %Y", "%Y%m%d"]
DATETIME_INPUTS = ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M %p"]
TWO_DIGIT_DATETIME = "%m/%d/%y %H:%M"  # orders are from 2023 on: Python's %y reads them right
BOOLEANS = {"true", "false", "y", "n", "yes", "no", "1", "0"}
MONEY = re.compile(r"\$?\s?(\d{1,3}(,\d{3})+|\d+)\.\d{2}")
EURO_MONEY = re.compile(r"\$?\s?(\d{1,3}(\.\d{3})+|\d+),\d{2}")


def blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


def bad_email(value: str | None) -> bool:
    return not blank(value) and not EMAIL.fullmatch(value.strip())


def canonical_email(value: str | None) -> bool:
    return blank(value) or value == value.strip().lower()


def phone_digits(value: str) -> str | None:
    """E.164 digits (no +) of a phone as typed, by `phonenumbers` with the US as default
    country; None if the library finds no valid number."""
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def bad_phone(value: str | None) -> bool:
    return not blank(value) and phone_digits(value) is None


def messy_phone(value: str | None) -> bool:
    return not blank(value) and not bad_phone(value) and value != phone_digits(value)


def pivot(two_digits: int, today: dt.date | None = None) -> int:
    """The documented pivot: the latest year ending in these digits up to this year."""
    this_year = (today or dt.date.today()).year
    return this_year - (this_year - two_digits) % 100


def parse_date(value: str) -> dt.date | None:
    for fmt in DATE_INPUTS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    found = re.fullmatch(r"(\d\d)/(\d\d)/(\d\d)", value.strip())
    if found:
        month, day, year = (int(g) for g in found.groups())
        try:
            return dt.date(pivot(year), month, day)
        except ValueError:
            return None
    return None


def bad_date(value: str | None) -> bool:
    if blank(value):
        return False
    parsed = parse_date(value)
    return parsed is None or not dt.date(1900, 1, 1) <= parsed <= dt.date.today()


def messy_date(value: str | None) -> bool:
    return not blank(value) and not bad_date(value) and not re.fullmatch(r"\d{4}-\d\d-\d\d", value)


def parse_datetime(value: str, zone: str = "UTC") -> dt.datetime | None:
    """An instant in UTC; naive inputs are wall-clock times in `zone`, a time that happens
    twice is the first, a time in a spring gap is read with the offset before it (Python's
    `fold=0`, the cleaner's documented rule)."""
    for fmt in [*DATETIME_INPUTS, TWO_DIGIT_DATETIME]:
        try:
            naive = dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        if fmt.endswith("Z"):
            return naive.replace(tzinfo=dt.UTC)
        return naive.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=0).astimezone(dt.UTC)
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(dt.UTC)
    except ValueError:
        return None


def dst_edge(value: str, zone: str) -> str | None:
    """`gap` for a wall-clock time that never happens in `zone`, `overlap` for one that
    happens twice, None otherwise (or when the value has an offset)."""
    try:
        naive = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    tz = zoneinfo.ZoneInfo(zone)
    first, second = (naive.replace(tzinfo=tz, fold=f) for f in (0, 1))
    if first.utcoffset() == second.utcoffset():
        return None
    back = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    return "overlap" if back == naive else "gap"


def messy_datetime(value: str | None) -> bool:
    return not blank(value) and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value)


def bad_boolean(value: str | None) -> bool:
    return not blank(value) and value.strip().lower() not in BOOLEANS


def messy_boolean(value: str | None) -> bool:
    return not blank(value) and not bad_boolean(value) and value not in {"true", "false"}


def bad_decimal(value: str | None) -> bool:
    return not blank(value) and not MONEY.fullmatch(value.strip())


def bad_integer(value: str | None) -> bool:
    return not blank(value) and not re.fullmatch(r"\d+", value.strip())


def has_break(row: Row) -> bool:
    return any(v is not None and ("\n" in v or "\r" in v) for v in row.values())


def spec_name(header: str) -> str:
    return SPEC_NAME.get(header.lower(), header.lower())


def over_limit(table: str, row: Row, overflow: Overflow) -> bool:
    """Some column of `row` is longer than the schema allows, among the columns cut (free
    text) or rejected (identifiers) when too long."""
    spec = TABLES[table]
    limits = {
        c.name: c.max_len
        for c in spec.columns
        if c.max_len
        and c.overflow == overflow
        and (overflow == Overflow.REJECT or c.kind == Kind.TEXT)
    }
    return any(
        value is not None and spec_name(h) in limits and len(value) > limits[spec_name(h)]
        for h, value in row.items()
    )


# What each file's rows may carry: manifest kind(s) -> a check that flags exactly those rows.
# A check covering two kinds ("email_case+duplicates") flags both, since duplicate copies of
# e-mail- or phone-keyed rows are re-spelled.
CHECKS: dict[str, dict[str, Check]] = {
    "customers.csv": {
        "missing_required": lambda r: blank(r["Email"]),
        "invalid_email": lambda r: bad_email(r["Email"]),
        "invalid_phone": lambda r: bad_phone(r["Mobile Phone"]),
        "invalid_date": lambda r: bad_date(r["BIRTHDAY"]),
        "too_long": lambda r: over_limit("customers", r, Overflow.REJECT),
        "email_case+duplicates": lambda r: (
            not bad_email(r["Email"]) and not canonical_email(r["Email"])
        ),
        "phone_format": lambda r: messy_phone(r["Mobile Phone"]),
        "date_format": lambda r: messy_date(r["BIRTHDAY"]),
        "boolean_format": lambda r: messy_boolean(r["Registered"]),
        "gender_format": lambda r: r["gender"] not in {"M", "F", "N", None},
        "line_breaks": has_break,
        "too_long_text": lambda r: over_limit("customers", r, Overflow.CUT),
    },
    "products.parquet": {
        "missing_required": lambda r: blank(r["sku"]),
        "too_long": lambda r: over_limit("products", r, Overflow.REJECT),
        "invalid_number": lambda r: bad_decimal(r["Price"]),
        "invalid_boolean": lambda r: bad_boolean(r["InStock"]),
        "price_format": lambda r: not bad_decimal(r["Price"]) and "$" in r["Price"],
        "boolean_format": lambda r: messy_boolean(r["InStock"]) or messy_boolean(r["OnSale"]),
        "line_breaks": has_break,
        "too_long_text": lambda r: over_limit("products", r, Overflow.CUT),
    },
    "orders.csv": {
        "invalid_email": lambda r: bad_email(r["Email"]),
        "email_case": lambda r: not bad_email(r["Email"]) and not canonical_email(r["Email"]),
        "datetime_format": lambda r: messy_datetime(r["DateEntered"]),
        "price_format": lambda r: "$" in r["OrderTotal"],
        "status_name": lambda r: not r["Status"].isdigit(),
    },
    "order_items.csv": {
        "missing_required": lambda r: blank(r["SKU"]),
        "invalid_number": lambda r: bad_integer(r["Quantity"]),
        "price_format": lambda r: "$" in r["Price"],
        "status_name": lambda r: not r["Status"].isdigit(),
    },
    "email_audience.csv": {
        "invalid_email": lambda r: bad_email(r["Email"]),
        "email_case+duplicates": lambda r: (
            not bad_email(r["Email"]) and not canonical_email(r["Email"])
        ),
        "line_breaks": has_break,
        "too_long_text": lambda r: over_limit("email_audience", r, Overflow.CUT),
    },
    "sms_audience.csv": {
        "invalid_phone": lambda r: bad_phone(r["Phone Number"]),
        "phone_format+duplicates": lambda r: messy_phone(r["Phone Number"]),
        "boolean_format": lambda r: messy_boolean(r["OptedOut"]),
        "email_case": lambda r: not canonical_email(r["email"]),
    },
}


def key_of(name: str, row: Row) -> tuple[str | None, ...]:
    """The row's key as cleaning would normalise it."""
    if name in {"customers.csv", "email_audience.csv"}:
        return (row["Email"].strip().lower(),)
    if name == "sms_audience.csv":
        return (phone_digits(row["Phone Number"]),)
    if name == "products.parquet":
        return (row["sku"].strip(),)
    if name == "orders.csv":
        return (row["OrderNumber"].strip(),)
    return (row["OrderNumber"].strip(), row["SKU"].strip())


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


def read(path: Path) -> pl.DataFrame:
    """A generated file as raw text, the way an inbox reader sees it."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("generated")
    return out, generate(out, customers=200, seed=11)


@pytest.fixture(scope="module")
def rows(sample: tuple[Path, dict]) -> dict[str, list[Row]]:
    out, _ = sample
    return {name: read(out / name).rows(named=True) for name in FILES}


def kinds_of(name: str, row: Row) -> list[str]:
    """Every check that flags `row`."""
    return [kind for kind, check in CHECKS[name].items() if check(row)]


def rejected(name: str, row: Row, manifest: dict) -> bool:
    reject_kinds = manifest["files"][name]["reject_dirt"]
    return any(k in reject_kinds for k in kinds_of(name, row))


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / folder, customers=80, seed=seed)
    for name in [*FILES, "manifest.json"]:
        a, b, c = ((tmp_path / f / name).read_bytes() for f in "abc")
        assert a == b, name
        assert a != c, name


def test_chunk_size_changes_no_byte(tmp_path: Path) -> None:
    """Files are rendered and written a chunk at a time to bound memory; rows cut 13 at a
    time (duplicates, DST edges and decimal commas across chunk borders) give the same files
    as one chunk."""
    settings = {"decimal_separator": ",", "source_timezone": "America/New_York"}
    for folder, chunk_rows in (("whole", 1_000_000), ("chunked", 13)):
        generate(tmp_path / folder, customers=200, seed=9, chunk_rows=chunk_rows, **settings)
    for name in [*FILES, "manifest.json"]:
        whole, chunked = ((tmp_path / f / name).read_bytes() for f in ("whole", "chunked"))
        assert whole == chunked, name


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        generate(tmp_path, customers=20, chunk_rows=0)


def test_all_files_with_expected_headers(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    for name, table in FILES.items():
        headers = read(out / name).columns
        assert {spec_name(h) for h in headers} >= {*REQUIRED[name].split(), "updated_at"}, name
        for exact in EXACT_HEADERS.get(name, []):
            assert exact in headers, (name, exact)
        # Real exports mix the case of header names. Any header that is not a Listrak column
        # is a lower-case extra: `updated_at` or an audience attribute.
        assert any(h != h.lower() for h in headers), name
        assert all(spec_name(h) in TABLES[table].column_names or h.islower() for h in headers)


def test_products_parquet_is_all_text(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    schema = pl.read_parquet_schema(out / "products.parquet")
    assert set(schema.values()) == {pl.String}


def test_row_counts_match_manifest(sample: tuple[Path, dict], rows: dict[str, list[Row]]) -> None:
    _, manifest = sample
    assert manifest["seed"] == 11
    assert set(manifest["files"]) == set(FILES)
    for name, entry in manifest["files"].items():
        assert len(rows[name]) == entry["rows"], name
        removed = sum(entry["reject_dirt"].values()) + entry["duplicates"]
        assert entry["clean_rows"] == entry["rows"] - removed, name


def test_dirt_counts_match_files(sample: tuple[Path, dict], rows: dict[str, list[Row]]) -> None:
    _, manifest = sample
    for name, checks in CHECKS.items():
        entry = manifest["files"][name]
        declared = {
            **entry["reject_dirt"],
            **entry["blanked_dirt"],
            **entry["cosmetic_dirt"],
            "duplicates": 0,
        }
        found = Counter(k for row in rows[name] for k in kinds_of(name, row))
        for check_name in checks:
            kinds = check_name.split("+")
            expected = sum(entry["duplicates"] if k == "duplicates" else declared[k] for k in kinds)
            assert found[check_name] == expected, (name, check_name)
        # Every declared kind is checked here, and the sample is big enough to hold each one.
        checked = {k for c in checks for k in c.split("+")}
        kinds = set(entry["reject_dirt"]) | set(entry["blanked_dirt"]) | set(entry["cosmetic_dirt"])
        assert kinds <= checked, name
        assert all(declared[k] > 0 for k in checked if k != "duplicates"), name


def test_no_row_carries_two_kinds_of_dirt(rows: dict[str, list[Row]]) -> None:
    for name in CHECKS:
        for row in rows[name]:
            assert len(kinds_of(name, row)) <= 1, (name, row, kinds_of(name, row))


def test_clean_keys_unique_apart_from_duplicates(
    sample: tuple[Path, dict], rows: dict[str, list[Row]]
) -> None:
    _, manifest = sample
    for name in FILES:
        kept = [r for r in rows[name] if not rejected(name, r, manifest)]
        keys = Counter(key_of(name, r) for r in kept)
        assert len(kept) - len(keys) == manifest["files"][name]["duplicates"], name
        assert (
            len(kept)
            == manifest["files"][name]["clean_rows"] + manifest["files"][name]["duplicates"]
        )


def test_duplicates_differ_in_updated_at(
    sample: tuple[Path, dict], rows: dict[str, list[Row]]
) -> None:
    _, manifest = sample
    for name in FILES:
        seen: dict[tuple, set[dt.datetime]] = {}
        for row in rows[name]:
            instant = parse_datetime(row["updated_at"])
            assert instant is not None, (name, row["updated_at"])
            if not rejected(name, row, manifest):
                seen.setdefault(key_of(name, row), set()).add(instant)
        copies = sum(len(instants) - 1 for instants in seen.values())
        assert copies == manifest["files"][name]["duplicates"], name


def test_referential_dirt_matches_manifest(
    sample: tuple[Path, dict], rows: dict[str, list[Row]]
) -> None:
    _, manifest = sample

    def kept(name: str) -> list[Row]:
        return [r for r in rows[name] if not rejected(name, r, manifest)]

    emails = {r["Email"].strip().lower() for r in kept("customers.csv")}
    orders = {r["OrderNumber"] for r in kept("orders.csv")}
    skus = {r["sku"] for r in kept("products.parquet")}
    unknown = [r for r in kept("orders.csv") if r["Email"].strip().lower() not in emails]
    orphan_order = [r for r in kept("order_items.csv") if r["OrderNumber"] not in orders]
    orphan_sku = [r for r in kept("order_items.csv") if r["SKU"] not in skus]
    files = manifest["files"]
    assert len(unknown) == files["orders.csv"]["referential"]["unknown_customer"] > 0
    assert len(orphan_order) == files["order_items.csv"]["referential"]["orphan_order"] > 0
    assert len(orphan_sku) == files["order_items.csv"]["referential"]["orphan_sku"] > 0
    # A dangling reference is the row's only dirt: it is orphaned one way, and otherwise clean.
    assert not [r for r in orphan_order if r in orphan_sku]
    assert all(not kinds_of("orders.csv", r) for r in unknown)
    assert all(not kinds_of("order_items.csv", r) for r in [*orphan_order, *orphan_sku])


def test_rates_are_realistic(sample: tuple[Path, dict]) -> None:
    _, manifest = sample
    for name, entry in manifest["files"].items():
        base = entry["rows"] - entry["duplicates"]
        for kind, count in {**entry["reject_dirt"], **entry["blanked_dirt"]}.items():
            assert 0.01 <= count / base <= 0.03, (name, kind)
        for kind, count in entry["referential"].items():
            assert 0.01 <= count / base <= 0.03, (name, kind)
        assert 0.2 <= sum(entry["cosmetic_dirt"].values()) / base <= 0.4, name
        assert 0.02 <= entry["duplicates"] / base <= 0.04, name


def test_clean_values_look_real(rows: dict[str, list[Row]]) -> None:
    customers = rows["customers.csv"]
    assert any(r["Zip"].startswith("0") for r in customers)
    assert any(not r["FirstName"].isascii() for r in customers)
    assert any("'" in r["lastName"] for r in customers)
    assert Counter(r["country"] for r in customers).most_common(1)[0][0] == "US"
    assert all(re.fullmatch(r"[A-Z]{2}", r["State"]) for r in customers if r["country"] == "US")
    clean_prices = [
        r["Price"] for r in rows["products.parquet"] if not kinds_of("products.parquet", r)
    ]
    assert clean_prices and all(re.fullmatch(r"\d+\.\d\d", p) for p in clean_prices)


def test_cli_writes_files_manifest_and_timing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "elsewhere" / "m.json"
    code = main(
        ["--customers", "60", "--seed", "5", "--out", str(tmp_path), "--manifest", str(manifest)]
    )
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(FILES)
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["seed"] == 5
    assert data["sizes"] == {
        "customers": 60,
        "products": 50,
        "orders": 60,
        "items_per_order": 2.0,
        "email_audience": 60,
        "sms_audience": 30,
    }
    assert re.search(r"in \d+\.\d\d s", capsys.readouterr().out)


@pytest.mark.parametrize("module", ["listrak_assets.generator", "listrak_assets.generate"])
def test_command_rewrites_the_committed_sample_byte_for_byte(tmp_path: Path, module: str) -> None:
    """The sample in `data/` is what the documented command writes; `listrak_assets.generate`,
    the command's first name, still works for scripts that use it."""
    command = [sys.executable, "-m", module, "--customers", "300", "--seed", "7"]
    manifest = tmp_path / "sample_manifest.json"
    subprocess.run(
        [*command, "--out", str(tmp_path / "inbox"), "--manifest", str(manifest)],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    committed = REPO / "data" / "inbox"
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / "inbox" / name).read_bytes() == (committed / name).read_bytes(), name
    assert manifest.read_bytes() == (REPO / "data" / "sample_manifest.json").read_bytes()


# ---------------------------------------------------------------------------------------------
# The world's formats
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[Row]], dict]:
    """A European-style export from New York: decimal commas, local times across DST."""
    out = tmp_path_factory.mktemp("world")
    manifest = generate(
        out,
        customers=2000,
        seed=5,
        decimal_separator=",",
        source_timezone="America/New_York",
    )
    return {name: read(out / name).rows(named=True) for name in FILES}, manifest


def test_phones_from_abroad_are_judged_by_phonenumbers(
    world: tuple[dict[str, list[Row]], dict],
) -> None:
    rows, _ = world
    phones = [r["Mobile Phone"] for r in rows["customers.csv"]] + [
        r["Phone Number"] for r in rows["sms_audience.csv"]
    ]
    written = [p for p in phones if p is not None]
    valid = {p: phone_digits(p) for p in written}
    abroad = {p: e for p, e in valid.items() if e is not None and not e.startswith("1")}
    # Several countries, written with `+`, the US exit code and the trunk `(0)`.
    assert (
        len(
            {
                phonenumbers.region_code_for_number(phonenumbers.parse("+" + e))
                for e in abroad.values()
            }
        )
        >= 5
    )
    assert any(p.startswith("+") and "(0)" in p for p in abroad)
    assert any(p.startswith("011 ") for p in abroad)
    assert any(p.startswith("+") and "(0)" not in p for p in abroad)
    # Other countries' exit codes and made-up numbers are there, and not numbers from the US.
    for start in ("0011 ", "00 ", "+999 ", "+1 (000)", "+12345678"):
        found = [p for p in written if p.startswith(start)]
        assert found, start
        assert all(valid[p] is None for p in found), start


def test_two_digit_years_are_written_where_the_pivot_reads_them(
    rows: dict[str, list[Row]],
) -> None:
    short = [
        r["BIRTHDAY"]
        for r in rows["customers.csv"]
        if r["BIRTHDAY"] and re.fullmatch(r"\d\d/\d\d/\d\d", r["BIRTHDAY"])
    ]
    assert short
    # Far enough from the pivot that it reads them right for decades to come.
    years = [pivot(int(b[-2:]), dt.date(2059, 12, 31)) for b in short]
    assert years == [pivot(int(b[-2:])) for b in short]
    assert all(1960 <= y <= 2007 for y in years)
    stamps = [
        v
        for r in rows["orders.csv"]
        for v in (r["DateEntered"], r["updated_at"])
        if v and re.fullmatch(r"\d\d/\d\d/\d\d \d\d:\d\d", v)
    ]
    assert stamps
    assert all(parse_datetime(v).year >= 2022 for v in stamps)  # type: ignore[union-attr]


def test_decimal_commas_only_when_asked(
    rows: dict[str, list[Row]], world: tuple[dict[str, list[Row]], dict]
) -> None:
    comma_rows, manifest = world
    assert manifest["settings"] == {"decimal_separator": ",", "source_timezone": "America/New_York"}
    for name, column in (("orders.csv", "OrderTotal"), ("order_items.csv", "Price")):
        comma = [r[column] for r in comma_rows[name]]
        assert all(EURO_MONEY.fullmatch(v.strip()) for v in comma), name
        assert all("," in v for v in comma), name
        assert all(MONEY.fullmatch(r[column].strip()) for r in rows[name]), name
    # Products: invalid amounts are exactly the counted ones, in either convention.
    prices = [r["Price"] for r in comma_rows["products.parquet"]]
    invalid = [p for p in prices if not EURO_MONEY.fullmatch(p.strip())]
    assert len(invalid) == manifest["files"]["products.parquet"]["reject_dirt"]["invalid_number"]
    assert any(MONEY.fullmatch(p.strip()) for p in invalid)  # `24.99` is not read as 24,99
    quantities = {r["Quantity"] for r in comma_rows["order_items.csv"]}
    assert "1,5" in quantities and "1.5" not in quantities


def test_dst_edges_in_the_source_time_zone(
    sample: tuple[Path, dict],
    rows: dict[str, list[Row]],
    world: tuple[dict[str, list[Row]], dict],
) -> None:
    world_rows, manifest = world
    zone = "America/New_York"
    for name in FILES:
        edges = Counter(dst_edge(r["updated_at"], zone) for r in world_rows[name])
        expected = manifest["files"][name]["dst_edges"]
        assert edges["gap"] == expected["gap"] > 0, name
        assert edges["overlap"] == expected["overlap"] > 0, name
        # Every time reads as an instant in the zone.
        assert all(parse_datetime(r["updated_at"], zone) for r in world_rows[name]), name
    # In UTC there is no change of offset, so none.
    _, utc = sample
    assert all(f["dst_edges"] == {"gap": 0, "overlap": 0} for f in utc["files"].values())
    assert not any(dst_edge(r["updated_at"], zone) for r in rows["orders.csv"])


def test_sticky_opt_outs_match_the_manifest(
    sample: tuple[Path, dict], rows: dict[str, list[Row]]
) -> None:
    _, manifest = sample
    name = "sms_audience.csv"
    by_number: dict[tuple, list[tuple[dt.datetime, bool]]] = {}
    for row in rows[name]:
        if rejected(name, row, manifest):
            continue
        instant = parse_datetime(row["updated_at"])
        assert instant is not None
        opted_out = row["OptedOut"].strip().lower() in {"true", "y", "yes", "1"}
        by_number.setdefault(key_of(name, row), []).append((instant, opted_out))
    opted = [k for k, v in by_number.items() if any(o for _, o in v)]
    sticky = [k for k, v in by_number.items() if any(o for _, o in v) and not max(v)[1]]
    entry = manifest["files"][name]
    assert len(opted) == entry["opted_out"]
    assert len(sticky) == entry["sticky_opt_outs"] > 0
