"""Sample-data generator: the six raw inputs that cleaning reads, realistic and deliberately messy.

    python -m listrak_assets.generate --customers 300 --seed 7 --out data/inbox \\
        --manifest data/sample_manifest.json

Cleaning can only be trusted if it is tested against dirt whose amount is known. So every row
carries at most one kind of dirt, the kinds are dealt out in exact numbers, and the manifest
written next to the files says how many rows cleaning must reject (and why), how many it must
merge as duplicates, which cosmetic fixes it must make, and how many dangling references it
must warn about. All work is whole-column numpy/polars (no per-row Python), so a million
customers take seconds, and one seed always gives byte-identical files.

Dirt kinds (manifest keys):

- reject: ``invalid_email``, ``invalid_phone``, ``invalid_date``, ``invalid_boolean``,
  ``invalid_number``, ``too_long``, ``missing_required`` (the row must be rejected for that
  reason and no other: the rest of the row is clean);
- cosmetic (the row survives once fixed): ``email_case``, ``phone_format``, ``date_format``,
  ``datetime_format``, ``boolean_format``, ``gender_format``, ``price_format``,
  ``status_name``, ``line_breaks``, ``too_long_text``;
- ``duplicates``: extra copies of clean rows, same key once normalised, other ``updated_at``;
- referential (warn only): ``unknown_customer``, ``orphan_order``, ``orphan_sku``.

``updated_at`` is written in mixed formats on every row; that is the normal state of the column,
not counted dirt.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from listrak_assets.schemas.spec import ORDER_STATUSES

# ---------------------------------------------------------------------------------------------
# Rates and dirt plans
# ---------------------------------------------------------------------------------------------

REJECT_RATE = 0.02  # per reject kind, of a file's base rows
REFERENTIAL_RATE = 0.02  # per referential kind
DUPLICATE_RATE = 0.03  # extra copies, of a file's base rows

CLEAN = "clean"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class DirtPlan:
    """The dirt one file may carry: reject and referential kinds at fixed rates, cosmetic kinds
    at their own rates."""

    reject: tuple[str, ...]
    cosmetic: Mapping[str, float]
    referential: tuple[str, ...] = ()

    def rates(self) -> dict[str, float]:
        return {
            **dict.fromkeys(self.reject, REJECT_RATE),
            **dict.fromkeys(self.referential, REFERENTIAL_RATE),
            **self.cosmetic,
        }


PLANS: dict[str, DirtPlan] = {
    "customers.csv": DirtPlan(
        reject=("invalid_email", "invalid_phone", "invalid_date", "too_long", "missing_required"),
        cosmetic={
            "email_case": 0.06,
            "phone_format": 0.06,
            "date_format": 0.05,
            "boolean_format": 0.04,
            "gender_format": 0.04,
            "line_breaks": 0.03,
            "too_long_text": 0.02,
        },
    ),
    "products.parquet": DirtPlan(
        reject=("invalid_boolean", "invalid_number", "too_long", "missing_required"),
        cosmetic={
            "price_format": 0.12,
            "boolean_format": 0.08,
            "line_breaks": 0.06,
            "too_long_text": 0.04,
        },
    ),
    "orders.csv": DirtPlan(
        reject=("invalid_email",),
        referential=("unknown_customer",),
        cosmetic={
            "email_case": 0.08,
            "datetime_format": 0.08,
            "price_format": 0.08,
            "status_name": 0.06,
        },
    ),
    "order_items.csv": DirtPlan(
        reject=("invalid_number", "missing_required"),
        referential=("orphan_order", "orphan_sku"),
        cosmetic={"price_format": 0.15, "status_name": 0.12},
    ),
    "email_audience.csv": DirtPlan(
        reject=("invalid_email",),
        cosmetic={"email_case": 0.20, "line_breaks": 0.04, "too_long_text": 0.03},
    ),
    "sms_audience.csv": DirtPlan(
        reject=("invalid_phone",),
        cosmetic={"phone_format": 0.20, "boolean_format": 0.06, "email_case": 0.06},
    ),
}

# Listrak key of each file (the spec's names), repeated in the manifest for the reader.
KEYS: dict[str, list[str]] = {
    "customers.csv": ["email"],
    "products.parquet": ["sku"],
    "orders.csv": ["ordernumber"],
    "order_items.csv": ["ordernumber", "sku"],
    "email_audience.csv": ["email"],
    "sms_audience.csv": ["phone"],
}

# ---------------------------------------------------------------------------------------------
# Vocabulary: (display, ASCII slug) pairs; slugs build e-mail addresses and SKUs
# ---------------------------------------------------------------------------------------------

FEMALE_FIRST: list[tuple[str, str]] = [
    ("Jane", "jane"), ("Zoë", "zoe"), ("María", "maria"), ("Chloé", "chloe"),
    ("Siobhán", "siobhan"), ("Ana", "ana"), ("Emily", "emily"), ("Olivia", "olivia"),
    ("Aaliyah", "aaliyah"), ("Priya", "priya"), ("Ngozi", "ngozi"), ("Mei", "mei"),
    ("花子", "hanako"), ("Małgorzata", "malgorzata"), ("Ingrid", "ingrid"),
    ("Fatima", "fatima"), ("Sarah", "sarah"), ("Linh", "linh"),
]  # fmt: skip
MALE_FIRST: list[tuple[str, str]] = [
    ("John", "john"), ("José", "jose"), ("Łukasz", "lukasz"), ("François", "francois"),
    ("Jürgen", "jurgen"), ("Michael", "michael"), ("David", "david"), ("太郎", "taro"),
    ("Søren", "soren"), ("Ahmed", "ahmed"), ("Wei", "wei"), ("Diego", "diego"),
    ("Kwame", "kwame"), ("Liam", "liam"), ("Noah", "noah"), ("Raj", "raj"),
    ("Mateo", "mateo"), ("Björn", "bjorn"),
]  # fmt: skip
LAST_NAMES: list[tuple[str, str]] = [
    ("Smith", "smith"), ("Johnson", "johnson"), ("Miller", "miller"), ("Müller", "muller"),
    ("O'Brien", "obrien"), ("García", "garcia"), ("Nguyen", "nguyen"), ("山田", "yamada"),
    ("佐藤", "sato"), ("Kowalski", "kowalski"), ("Wójcik", "wojcik"), ("Dubois", "dubois"),
    ("Østergaard", "ostergaard"), ("Núñez", "nunez"), ("Williams", "williams"),
    ("Brown", "brown"), ("Okafor", "okafor"), ("Patel", "patel"), ("Kim", "kim"),
    ("Rossi", "rossi"), ("D'Angelo", "dangelo"), ("Smith-Jones", "smithjones"),
    ("van der Berg", "vanderberg"), ("MacDonald", "macdonald"),
]  # fmt: skip
# Reserved example domains only: generated addresses must never reach a real mailbox.
EMAIL_DOMAINS = [
    "example.com", "example.net", "example.org",
    "mail.example.com", "inbox.example.net", "post.example.org",
]  # fmt: skip
GUEST_DOMAIN = "checkout.example.com"  # guest orders: never a customer's domain

STREETS = [
    "Maple Avenue", "Oak Street", "Main Street", "Pine Road", "Cedar Lane", "Elm Street",
    "Washington Boulevard", "Lake Shore Drive", "Park Place", "Market Street",
    "Chestnut Street", "Peachtree Road", "Camino Real", "King's Highway",
]  # fmt: skip
UNITS = [
    "Apt 4B", "Suite 200", "Unit 12", "Apartment 39", "Floor 3", "PO Box 118",
    'c/o "Ace" Storage, Bay 7',
]  # fmt: skip
US_CITIES: list[tuple[str, str, str]] = [
    ("Philadelphia", "PA", "19103"), ("Lancaster", "PA", "17602"), ("Boston", "MA", "02108"),
    ("Providence", "RI", "02903"), ("Hartford", "CT", "06103"), ("Newark", "NJ", "07102"),
    ("Portland", "ME", "04101"), ("Burlington", "VT", "05401"), ("Manchester", "NH", "03101"),
    ("New York", "NY", "10001"), ("Chicago", "IL", "60601"), ("Houston", "TX", "77002"),
    ("Los Angeles", "CA", "90012"), ("San José", "CA", "95113"), ("Seattle", "WA", "98101"),
    ("Denver", "CO", "80202"), ("Atlanta", "GA", "30303"), ("Miami", "FL", "33130"),
    ("Phoenix", "AZ", "85004"), ("Nashville", "TN", "37203"), ("Coeur d'Alene", "ID", "83814"),
    ("Española", "NM", "87532"), ("Anchorage", "AK", "99501"), ("Honolulu", "HI", "96813"),
    ("San Juan", "PR", "00901"), ("Minneapolis", "MN", "55401"),
    ("Winston-Salem", "NC", "27101"),
]  # fmt: skip
FOREIGN_CITIES: list[tuple[str, str | None, str, str]] = [
    ("Toronto", "ON", "M5V 2T6", "CA"), ("Montréal", "QC", "H2X 1Y4", "CA"),
    ("London", None, "SW1A 1AA", "GB"),
]  # fmt: skip
FOREIGN_SHARE = 0.04
AREA_CODES = [
    "717", "215", "267", "412", "617", "401", "860", "973", "207", "802", "603", "212", "718",
    "312", "713", "213", "408", "206", "303", "404", "305", "602", "615", "208", "505", "907",
    "808", "787", "612", "336",
]  # fmt: skip

BRANDS = [
    "Northwind", "Contoso", "Fabrikam", "Løkke & Co", "Café Noir", "Tailspin", "Alpine Ridge",
    "Maison Élise", "Blue Yonder", "Woodgrove",
]  # fmt: skip
CATEGORIES: dict[str, tuple[list[str], list[str]]] = {  # category: (subcategories, nouns)
    "Apparel": (["Tops", "Dresses", "Outerwear"], ["Crew Tee", "Wrap Dress", "Rain Jacket"]),
    "Swimwear": (["Cover-ups", "One-piece", "Trunks"], ["Kaftan", "Swimsuit", "Swim Trunks"]),
    "Home": (["Bedding", "Kitchen", "Décor"], ["Duvet Cover", "Chef's Knife", "Throw Pillow"]),
    "Footwear": (["Sneakers", "Boots", "Sandals"], ["Runner", "Chelsea Boot", "Slide"]),
    "Accessories": (["Bags", "Hats", "Jewelry"], ["Tote", "Bucket Hat", "Hoop Earrings"]),
    "Outdoor": (["Camping", "Hiking", "Cycling"], ["2-Person Tent", "Daypack", "Bike Light"]),
}
ADJECTIVES = [
    "Classic", "Everyday", "Organic Cotton", "Lightweight", "Heritage", "Performance", "Cozy",
    "Premium", "Recycled", "Signature",
]  # fmt: skip
COLORS: list[tuple[str, str]] = [
    ("Black", "black"), ("White", "white"), ("Navy", "navy"), ("Heather Gray", "heather-gray"),
    ("Olive", "olive"), ("Crème", "creme"), ("Rust", "rust"), ("Sky Blue", "sky-blue"),
    ("Forest Green", "forest-green"), ("Burgundy", "burgundy"), ("Sand", "sand"),
    ("Charcoal", "charcoal"),
]  # fmt: skip
# Clean descriptions may hold commas and quotes (valid CSV); only line breaks are dirt.
DESCRIPTION_LINES = [
    "Soft, breathable and built to last; machine washable.",
    "Fits true to size. Our model is 5' 10\" and wears a medium.",
    'Made with 100% recycled materials, "the way it should be."',
    "Ships in plastic-free packaging, ready to gift.",
    "Backed by our 2-year warranty, no questions asked.",
]
COUPONS = ["SPRING20", "FREESHIP", "WELCOME10", "VIP-25OFF", "HOLIDAY2024"]
SHIPPING_METHODS = ["UPS Ground", "USPS Priority", "FedEx 2Day", "Store Pickup"]
LOYALTY_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]

# Padding that pushes free text past Listrak's CUT limits (firstname 50, title 500, desc 4000).
LONG_MIDDLE_NAMES = "Guadalupe Esperanza Concepción de los Ángeles Fernández"
LONG_TITLE_TAIL = " | " + " | ".join(
    ["best seller gift idea for him for her free shipping new arrival limited stock"] * 7
)
LONG_DESCRIPTION_TAIL = " " + " ".join(
    ["Care: wash cold with like colours, tumble dry low, do not bleach, cool iron if needed."] * 50
)
# Suffix that pushes identifiers past Listrak's REJECT limits (customernumber 20, sku 100).
LONG_SKU_TAIL = (
    "-limited-edition-holiday-gift-bundle-with-matching-accessories-"
    "and-premium-recycled-packaging-2024-exclusive"
)  # over 100 characters on its own

# Time windows (UTC, epoch seconds) for the generated timestamps.
ORDERS_FROM = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())
ORDERS_TO = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
BIRTHDAYS_FROM = -10957  # 1940-01-01 in days since 1970-01-01
BIRTHDAYS_TO = 13878  # 2007-12-31
DAY = 86_400

# Listrak status codes (index into ORDER_STATUSES) and how often orders are in each.
STATUS_CODES = np.array([8, 7, 6, 4, 10, 9])
STATUS_WEIGHTS = np.array([0.55, 0.20, 0.10, 0.05, 0.05, 0.05])
SHIPPED_CODES = [7, 8, 9]

# ---------------------------------------------------------------------------------------------
# Headers: Listrak names in the mixed case real exports use (three spellings are mapped by the
# settings file and must stay exactly as they are: `Zip`, `Mobile Phone`, `Phone Number`).
# ---------------------------------------------------------------------------------------------

HEADERS: dict[str, dict[str, str]] = {
    "customers.csv": {
        "email": "Email", "customernumber": "CustomerNumber", "mobilephone": "Mobile Phone",
        "birthday": "BIRTHDAY", "gender": "gender", "firstname": "FirstName",
        "lastname": "lastName", "address1": "Address1", "address2": "ADDRESS2", "city": "City",
        "state": "State", "zipcode": "Zip", "country": "country", "registered": "Registered",
        "updated_at": "updated_at",
    },
    "products.parquet": {
        "sku": "sku", "title": "Title", "price": "Price", "description": "Description",
        "imageurl": "ImageURL", "linkurl": "LinkUrl", "brand": "brand", "category": "Category",
        "subcategory": "SubCategory", "mastersku": "MasterSku", "qoh": "QOH",
        "instock": "InStock", "onsale": "OnSale", "saleprice": "SalePrice",
        "updated_at": "updated_at",
    },
    "orders.csv": {
        "ordernumber": "OrderNumber", "dateentered": "DateEntered", "email": "Email",
        "customernumber": "CustomerNumber", "itemtotal": "ItemTotal",
        "shippingtotal": "ShippingTotal", "taxtotal": "TaxTotal", "ordertotal": "OrderTotal",
        "status": "Status", "shipdate": "ShipDate", "couponcode": "CouponCode",
        "shippingmethod": "ShippingMethod", "updated_at": "updated_at",
    },
    "order_items.csv": {
        "ordernumber": "OrderNumber", "sku": "SKU", "status": "Status", "quantity": "Quantity",
        "price": "Price", "discountedprice": "DiscountedPrice", "itemtotal": "ItemTotal",
        "updated_at": "updated_at",
    },
    "email_audience.csv": {
        "email": "Email", "firstname": "FirstName", "lastname": "LastName",
        "loyalty_tier": "loyalty_tier", "favorite_category": "favorite_category",
        "updated_at": "updated_at",
    },
    "sms_audience.csv": {
        "phone": "Phone Number", "optedout": "OptedOut", "email": "email",
        "firstname": "FirstName", "loyalty_tier": "loyalty_tier", "updated_at": "updated_at",
    },
}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Small expression helpers
# ---------------------------------------------------------------------------------------------


def _s(text: str) -> pl.Expr:
    """A string literal (a bare str in `then()` would be read as a column name)."""
    return pl.lit(text, dtype=pl.String)


# The dirt kind of the rows being rendered; set by `_table`, which renders one kind at a time.
_RENDERING: ContextVar[str | None] = ContextVar("_RENDERING", default=None)


def _is(kind: str) -> pl.Expr:
    """True on rows that carry dirt `kind`. While `_table` renders one kind this is a constant,
    so polars drops the other kinds' branches unevaluated (renders ~5x faster)."""
    rendering = _RENDERING.get()
    if rendering is not None:
        return pl.lit(rendering == kind)
    return pl.col("_dirt") == kind


def _pick(draw: str, options: Sequence[pl.Expr | str]) -> pl.Expr:
    """One option per row, chosen by the row's random integer column `draw`."""
    exprs = [o if isinstance(o, pl.Expr) else _s(o) for o in options]
    if len(exprs) == 1:
        return exprs[0]
    k = pl.col(draw) % len(exprs)
    out = pl.when(k == 0).then(exprs[0])
    for i, expr in enumerate(exprs[1:-1], start=1):
        out = out.when(k == i).then(expr)
    return out.otherwise(exprs[-1])


def _variant(options: Sequence[pl.Expr | str]) -> pl.Expr:
    """One option per row by the row's dirt-variant draw `_v`."""
    return _pick("_v", options)


def _vocab(
    pairs: Sequence[str | None] | Sequence[tuple[str | None, ...]], idx: np.ndarray, part: int = 0
) -> pl.Series:
    """Gather vocabulary entries by index, as a polars string Series (vectorised lookup)."""
    values = [p[part] if isinstance(p, tuple) else p for p in pairs]
    return pl.Series(values, dtype=pl.String).gather(idx)


def _zfill(col: str | pl.Expr | pl.Series, width: int) -> pl.Expr | pl.Series:
    """An integer column as zero-padded text (keeps leading zeros of ids)."""
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.cast(pl.String).str.zfill(width)


def _timestamps(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds as a naive UTC datetime Series."""
    return pl.from_epoch(pl.Series(seconds.astype(np.int64)), time_unit="s")


# ---------------------------------------------------------------------------------------------
# Value renderers: canonical text, cosmetic variants, invalid variants
# ---------------------------------------------------------------------------------------------


def _by_format(
    value: pl.Expr, which: pl.Expr, formats: Sequence[Callable[[pl.Expr], pl.Expr]]
) -> pl.Expr:
    """`formats[which]` applied to `value`, per row. Each format sees only its own rows (the
    rest are null), so the costly formatting is paid once per row, not once per format."""
    return pl.coalesce([fmt(pl.when(which == i).then(value)) for i, fmt in enumerate(formats)])


# Timestamp formats seen in exports; the first is Listrak's (ISO 8601, UTC `Z`).
DATETIME_FORMATS: list[Callable[[pl.Expr], pl.Expr]] = [
    lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    lambda t: t.dt.strftime("%Y-%m-%d %H:%M:%S"),
    lambda t: t.dt.strftime("%m/%d/%Y %-I:%M %p"),
    lambda t: (t - pl.duration(hours=4)).dt.strftime("%Y-%m-%dT%H:%M:%S-04:00"),
]
# Date formats seen in exports; the first is Listrak's. Slashes with four digits last are
# month first (US).
DATE_FORMATS: list[Callable[[pl.Expr], pl.Expr]] = [
    lambda d: d.dt.strftime("%Y-%m-%d"),
    lambda d: d.dt.strftime("%m/%d/%Y"),
    lambda d: d.dt.strftime("%Y/%m/%d"),
    lambda d: d.dt.strftime("%B %-d, %Y"),
    lambda d: d.dt.strftime("%Y%m%d"),
]


def _datetime(col: str) -> pl.Expr:
    """A Listrak datetime column; `datetime_format` rows get another format, same instant."""
    n_messy = len(DATETIME_FORMATS) - 1
    which = pl.when(_is("datetime_format")).then(1 + pl.col("_v") % n_messy).otherwise(0)
    return _by_format(pl.col(col), which, DATETIME_FORMATS)


def _updated_at() -> pl.Expr:
    """`updated_at` in a format drawn per row: it is mixed on every row of a real export."""
    return _by_format(pl.col("updated"), pl.col("_fmt"), DATETIME_FORMATS)


def _date(col: str) -> pl.Expr:
    """A date column: ISO when clean, another format or an impossible date when dirty."""
    n_messy = len(DATE_FORMATS) - 1
    which = pl.when(_is("date_format")).then(1 + pl.col("_v") % n_messy).otherwise(0)
    bad = pl.col(col)
    invalid = _variant(
        [
            pl.concat_str(_s("31/31/"), bad.dt.strftime("%Y")),
            _s("not a date"),
            bad.dt.strftime("1850-%m-%d"),  # before 1900
            bad.dt.strftime("2091-%m-%d"),  # in the future (for the next 65 years)
            bad.dt.strftime("%Y-02-30"),
        ]
    )
    return (
        pl.when(_is("invalid_date"))
        .then(invalid)
        .otherwise(_by_format(pl.col(col), which, DATE_FORMATS))
    )


def _email(*, respell_duplicates: bool) -> pl.Expr:
    """E-mail from its local part and domain: lower-case when clean, re-cased and padded for
    `email_case` (and for duplicate copies when the e-mail is the key), broken when invalid."""
    local, domain = pl.col("email_local"), pl.col("email_domain")
    canon = pl.concat_str(local, _s("@"), domain)
    messy = _variant(
        [
            pl.concat_str(_s("  "), local.str.to_uppercase(), _s("@"), domain),
            pl.concat_str(canon.str.to_titlecase(), _s(" ")),
            pl.concat_str(_s(" "), local, _s("@"), domain.str.to_uppercase(), _s(" ")),
        ]
    )
    invalid = _variant(
        [
            pl.concat_str(local, _s("@")),
            pl.concat_str(local, _s("."), domain),
            pl.concat_str(local, _s("@"), domain.str.split(".").list.first()),
            pl.concat_str(local, _s("@@"), domain),
            pl.concat_str(pl.col("first_slug"), _s(" "), pl.col("last_slug"), _s("@"), domain),
        ]
    )
    expr = pl.when(_is("email_case")).then(messy)
    if respell_duplicates:
        expr = expr.when(_is(DUPLICATE)).then(
            pl.concat_str(_s(" "), canon.str.to_uppercase(), _s("  "))
        )
    return (
        expr.when(_is("invalid_email"))
        .then(invalid)
        .when(_is("missing_required"))
        .then(None)
        .otherwise(canon)
    )


def _us_phone_formats() -> list[pl.Expr]:
    """One US number written the ways people type it; all normalise to `1` + 10 digits."""
    a, e, n = pl.col("area"), pl.col("exch"), pl.col("line")
    ext = (pl.col("_v") % 90 + 10).cast(pl.String)
    return [
        pl.concat_str(_s("("), a, _s(") "), e, _s("-"), n),
        pl.concat_str(a, _s("."), e, _s("."), n),
        pl.concat_str(_s("+1 "), a, _s("-"), e, _s("-"), n),
        pl.concat_str(_s("1-"), a, _s("-"), e, _s("-"), n),
        pl.concat_str(a, e, n),
        pl.concat_str(a, _s("-"), e, _s("-"), n, _s(" x"), ext),
    ]


def _phone(*, respell_duplicates: bool) -> pl.Expr:
    """Phone as Listrak wants it (E.164 digits, no `+`) when clean; typed formats or a UK
    number for `phone_format`; too short or words when invalid."""
    canon = pl.concat_str(_s("1"), pl.col("area"), pl.col("exch"), pl.col("line"))
    uk = pl.col("uk")
    uk_number = pl.concat_str(_s("+44 "), uk.str.slice(0, 4), _s(" "), uk.str.slice(4))
    messy = _variant([*_us_phone_formats(), uk_number])
    invalid = _variant(["555-01", "call me", "12345", "call after 5pm"])
    expr = pl.when(_is("phone_format")).then(messy)
    if respell_duplicates:
        expr = expr.when(_is(DUPLICATE)).then(_variant(_us_phone_formats()))
    return expr.when(_is("invalid_phone")).then(invalid).otherwise(canon)


def _boolean(col: str, *, invalid_kind: str | None = None) -> pl.Expr:
    """`true`/`false` when clean; Y/N, yes/no, True/FALSE, 1/0 for `boolean_format`."""
    b = pl.col(col)
    messy = (
        pl.when(b)
        .then(_variant(["Y", "yes", "True", "TRUE", "1"]))
        .otherwise(_variant(["N", "no", "False", "FALSE", "0"]))
    )
    expr = pl.when(_is("boolean_format")).then(messy)
    if invalid_kind:
        expr = expr.when(_is(invalid_kind)).then(_variant(["maybe", "sometimes", "yes/no"]))
    return expr.otherwise(pl.when(b).then(_s("true")).otherwise(_s("false")))


def _money_plain(cents: pl.Expr) -> pl.Expr:
    """Integer cents as `1299.00`."""
    return pl.concat_str((cents // 100).cast(pl.String), _s("."), _zfill(cents % 100, 2))


def _money_grouped(plain: pl.Expr) -> pl.Expr:
    """`1299.00` as `1,299.00` (thousands separators, up to 999,999,999.99)."""
    return plain.str.replace(r"^(\d{1,3})(\d{3})(\d{3})\.", "$1,$2,$3.").str.replace(
        r"^(\d{1,3})(\d{3})\.", "$1,$2."
    )


def _money(col: str, *, invalid_kind: str | None = None) -> pl.Expr:
    """A decimal column: `24.99` when clean, `$1,299.00`/`$24.99` for `price_format`."""
    plain = _money_plain(pl.col(col))
    grouped = _money_grouped(plain)
    messy = _variant(
        [
            pl.concat_str(_s("$"), grouped),
            pl.concat_str(_s("$"), plain),
            pl.concat_str(_s("$ "), grouped),
        ]
    )
    expr = pl.when(_is("price_format")).then(messy)
    if invalid_kind:
        broken = pl.concat_str(plain, _s(".00"))  # 24.99.00
        expr = expr.when(_is(invalid_kind)).then(
            _variant(["12,99.x", "free", "call for price", broken])
        )
    return expr.otherwise(plain)


def _status(col: str) -> pl.Expr:
    """Listrak's status number when clean; its name in some case for `status_name`."""
    name = pl.col(col).replace_strict(
        list(range(len(ORDER_STATUSES))), list(ORDER_STATUSES), return_dtype=pl.String
    )
    messy = _variant([name, name.str.to_lowercase(), name.str.to_uppercase()])
    return pl.when(_is("status_name")).then(messy).otherwise(pl.col(col).cast(pl.String))


def _too_long_text(col: str, tail: str, *, when: pl.Expr | None = None) -> pl.Expr:
    """A free-text column, padded past its CUT limit on `too_long_text` rows."""
    cond = _is("too_long_text") if when is None else _is("too_long_text") & when
    return pl.when(cond).then(pl.concat_str(pl.col(col), _s(tail))).otherwise(pl.col(col))


# ---------------------------------------------------------------------------------------------
# Dirt, duplicates and row order
# ---------------------------------------------------------------------------------------------


def _draw_dirt(rng: np.random.Generator, n: int, plan: DirtPlan) -> pl.Series:
    """One dirt label per row, from exact counts (round(rate * n)) dealt out at random."""
    rates = plan.rates()
    counts = [int(rate * n + 0.5) for rate in rates.values()]
    if sum(counts) > n:
        raise ValueError(f"dirt rates add up to more than {n} rows")
    labels = [*rates, CLEAN]
    codes = np.repeat(np.arange(len(labels)), [*counts, n - sum(counts)])
    return pl.Series("_dirt", labels, dtype=pl.String).gather(rng.permutation(codes))


def _add_duplicates(
    rng: np.random.Generator,
    df: pl.DataFrame,
    mutate: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Append copies of clean rows with another `updated_at` (a day or more away, so the
    newest is never a tie); `mutate` changes what a later export would have changed."""
    pool = np.flatnonzero((df["_dirt"] == CLEAN).to_numpy())
    n_copies = int(DUPLICATE_RATE * df.height + 0.5) if len(pool) else 0
    if n_copies == 0:
        return df
    src = rng.choice(pool, size=n_copies, replace=True)  # a few rows get two copies
    sign = rng.choice(np.array([-1, 1]), size=n_copies)
    days = rng.integers(1, 31, size=n_copies)
    seconds = rng.integers(0, DAY, size=n_copies)
    copies = (
        df[src]
        .with_columns(
            _src=pl.Series(src),
            _sign=pl.Series(sign),
            _days=pl.Series(days),
            _secs=pl.Series(seconds),
        )
        .with_columns(_nth=pl.int_range(pl.len()).over("_src"))
        .with_columns(
            # Copy k of a row lies 40k+1..40k+31 days away: copies never tie with each other.
            updated=pl.col("updated")
            + pl.duration(
                days=pl.col("_sign") * (pl.col("_nth") * 40 + pl.col("_days")),
                seconds=pl.col("_sign") * pl.col("_secs"),
            ),
            _dirt=_s(DUPLICATE),
        )
        .drop("_src", "_sign", "_days", "_secs", "_nth")
    )
    if mutate is not None:
        copies = mutate(copies)
    return pl.concat([df, copies], how="vertical")


def _draws(rng: np.random.Generator, df: pl.DataFrame) -> pl.DataFrame:
    """The per-row random choices renderers read: `_v` picks a dirt variant, `_fmt` the
    `updated_at` format."""
    return df.with_columns(
        _v=pl.Series(rng.integers(0, 2**31, df.height), dtype=pl.Int64),
        _fmt=pl.Series(rng.integers(0, 4, df.height), dtype=pl.Int64),
    )


def _table(
    rng: np.random.Generator,
    typed: pl.DataFrame,
    render: Callable[[pl.DataFrame], pl.DataFrame],
    mutate: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Typed rows to the file's text rows (plus `_dirt`): add duplicates, render each dirt kind
    on its own, and put each copy at a random place (base rows keep the export's natural
    order; their dirt is already random)."""
    frame = _draws(rng, _add_duplicates(rng, typed, mutate))
    n_base = typed.height
    places = rng.integers(0, n_base + 1, frame.height - n_base)
    order = np.insert(np.arange(n_base), places, np.arange(n_base, frame.height))
    rank = np.empty(frame.height, dtype=np.int64)
    rank[order] = np.arange(frame.height)
    frame = frame.with_columns(_rank=pl.Series(rank))
    parts = []
    for (kind,), part in frame.partition_by("_dirt", as_dict=True, maintain_order=True).items():
        token = _RENDERING.set(str(kind))
        try:
            parts.append(render(part).with_columns(part.select("_dirt", "_rank")))
        finally:
            _RENDERING.reset(token)
    if not parts:
        return render(frame).with_columns(frame.select("_dirt"))
    return pl.concat(parts, how="vertical_relaxed").sort("_rank").drop("_rank")


def _select(df: pl.DataFrame, *exprs: pl.Expr | str) -> pl.DataFrame:
    """`df.select` through the lazy engine, which shares the sub-expressions the renderers
    repeat across branches (eager evaluation computes each again)."""
    return df.lazy().select(*exprs).collect()


def _manifest_entry(name: str, df: pl.DataFrame) -> dict:
    """Counts of each dirt kind actually written in one file."""
    plan = PLANS[name]
    counts = dict(df["_dirt"].value_counts().iter_rows())
    reject = {k: counts.get(k, 0) for k in plan.reject}
    duplicates = counts.get(DUPLICATE, 0)
    return {
        "rows": df.height,
        "key": KEYS[name],
        "reject_dirt": reject,
        "duplicates": duplicates,
        "cosmetic_dirt": {k: counts.get(k, 0) for k in plan.cosmetic},
        "referential": {k: counts.get(k, 0) for k in plan.referential},
        "clean_rows": df.height - sum(reject.values()) - duplicates,
    }


def _valid(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """Rows cleaning will keep: no reject dirt (referential and cosmetic rows stay)."""
    return df.filter(~pl.col("_dirt").is_in(PLANS[name].reject))


# ---------------------------------------------------------------------------------------------
# People: one pool shared by customers and audiences, so a person keeps name, e-mail and phone
# ---------------------------------------------------------------------------------------------


# E-mail local parts people pick, before the person number that makes them unique.
EMAIL_PATTERNS: list[Callable[[str, str], str]] = [
    lambda first, last: f"{first}.{last}",
    lambda first, last: f"{first}{last}",
    lambda first, last: f"{first[0]}.{last}",
    lambda first, last: f"{first}_{last}",
    lambda first, last: f"{last}.{first}",
]


def _people(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Persons 0..n-1 with unique e-mail (name + person number) and unique phone numbers."""
    if n > 80_000_000:
        raise ValueError("phone numbers are unique for up to 80M persons")
    pid = np.arange(n, dtype=np.int64)
    first_names = FEMALE_FIRST + MALE_FIRST
    n_f, n_m, n_l = len(FEMALE_FIRST), len(MALE_FIRST), len(LAST_NAMES)
    female = rng.random(n) < 0.5
    first_i = np.where(female, rng.integers(0, n_f, n), n_f + rng.integers(0, n_m, n))
    last_i = rng.integers(0, n_l, n)
    sex_i = np.where(female, 0, 1)
    gender_i = np.where(rng.random(n) < 0.04, 2, sex_i)  # a few "N"
    # Every (first, last, pattern) local part, looked up per person instead of built per row.
    locals_ = [
        pattern(f[1], last[1])
        for f in first_names
        for last in LAST_NAMES
        for pattern in EMAIL_PATTERNS
    ]
    local_i = (first_i * n_l + last_i) * len(EMAIL_PATTERNS) + rng.integers(
        0, len(EMAIL_PATTERNS), n
    )
    # Phone numbers: 7 digits (exchange 200-999 + line) by an injective shuffle of the person
    # number, unique below 8M persons; the area code also moves with each 8M block, so
    # numbers stay unique up to 80M persons.
    q = (pid * 387_420_489) % 8_000_000
    area_i = (pid * 7 + pid // 8_000_000) % len(AREA_CODES)
    df = pl.DataFrame(
        {
            "pid": pid,
            "first": _vocab(first_names, first_i),
            "first_slug": _vocab(first_names, first_i, 1),
            "last": _vocab(LAST_NAMES, last_i),
            "last_slug": _vocab(LAST_NAMES, last_i, 1),
            "sex": _vocab(["F", "M"], sex_i),
            "gender": _vocab(["F", "M", "N"], gender_i),
            "email_local": _vocab(locals_, local_i),
            "email_domain": _vocab(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n)),
            "area": _vocab(AREA_CODES, area_i),
            "exch": 200 + q // 10_000,
            "line": q % 10_000 + 10_000,  # 5 digits; the last 4 are the line
            "uk": (pid * 387_420_489) % 1_000_000_000 + 7_000_000_000,  # a UK mobile: 7 + 9
            "birthday": pl.Series(
                rng.integers(BIRTHDAYS_FROM, BIRTHDAYS_TO + 1, n), dtype=pl.Int32
            ),
        }
    )
    return df.with_columns(
        email_local=pl.concat_str(pl.col("email_local"), pl.col("pid").cast(pl.String)),
        exch=pl.col("exch").cast(pl.String),
        line=pl.col("line").cast(pl.String).str.slice(1),
        uk=pl.col("uk").cast(pl.String),
        birthday=pl.col("birthday").cast(pl.Date),
    )


def _customer_number(pid: pl.Expr) -> pl.Expr:
    """The shop's own customer id: 8 digits, the same in every file."""
    return (pid * 7 + 10_000_000).cast(pl.String)


# ---------------------------------------------------------------------------------------------
# The six tables
# ---------------------------------------------------------------------------------------------


def _customers(rng: np.random.Generator, people: pl.DataFrame) -> pl.DataFrame:
    """Customer rows (typed, with dirt labels), one per person."""
    n = people.height
    name = "customers.csv"
    foreign = rng.random(n) < FOREIGN_SHARE
    city_i = rng.integers(0, len(US_CITIES), n)
    foreign_i = rng.integers(0, len(FOREIGN_CITIES), n)

    def place(part: int) -> pl.Series:
        us = _vocab(US_CITIES, city_i, part) if part < 3 else pl.repeat("US", n, eager=True)
        abroad = _vocab(FOREIGN_CITIES, foreign_i, part)
        return pl.select(pl.when(pl.Series(foreign)).then(abroad).otherwise(us)).to_series()

    unit = _vocab(UNITS, rng.integers(0, len(UNITS), n))
    df = people.with_columns(
        customernumber=_customer_number(pl.col("pid")),
        address1=pl.concat_str(
            pl.Series(rng.integers(1, 9999, n)).cast(pl.String),
            _s(" "),
            _vocab(STREETS, rng.integers(0, len(STREETS), n)),
        ),
        unit=unit,
        address2=pl.when(pl.Series(rng.random(n) < 0.25)).then(unit),
        city=place(0),
        state=place(1),
        zipcode=place(2),
        country=place(3),
        registered=pl.Series(rng.random(n) < 0.6),
        updated=_timestamps(rng.integers(ORDERS_FROM, ORDERS_TO, n)),
        _no_phone=pl.Series(rng.random(n) < 0.12),
        _no_birthday=pl.Series(rng.random(n) < 0.30),
        _no_gender=pl.Series(rng.random(n) < 0.05),
        _dirt=_draw_dirt(rng, n, PLANS[name]),
    )
    # Optional values are blank only where no dirt needs them.
    df = df.with_columns(
        area=pl.when(pl.col("_no_phone") & _is(CLEAN)).then(None).otherwise(pl.col("area")),
        birthday=pl.when(pl.col("_no_birthday") & _is(CLEAN))
        .then(None)
        .otherwise(pl.col("birthday")),
        gender=pl.when(_is("gender_format"))
        .then(pl.col("sex"))
        .when(pl.col("_no_gender") & _is(CLEAN))
        .then(None)
        .otherwise(pl.col("gender")),
    ).drop("_no_phone", "_no_birthday", "_no_gender")
    return df


def _render_customers(df: pl.DataFrame) -> pl.DataFrame:
    """Customer rows as the raw export writes them."""
    lb = _is("line_breaks")
    k = pl.col("_v") % 4
    gender_messy = (
        pl.when(pl.col("gender") == "M")
        .then(_variant(["male", "Male", "m"]))
        .otherwise(_variant(["female", "Female", "f"]))
    )
    gate = pl.concat_str(_s("Gate code "), (pl.col("_v") % 9000 + 1000).cast(pl.String))
    return _select(
        df,
        _email(respell_duplicates=True).alias("email"),
        pl.when(_is("too_long"))
        .then(pl.concat_str(_s("LEGACY-"), pl.col("customernumber"), _s("-MIGRATED-2019")))
        .otherwise(pl.col("customernumber"))
        .alias("customernumber"),
        _phone(respell_duplicates=False).alias("mobilephone"),
        _date("birthday").alias("birthday"),
        pl.when(_is("gender_format"))
        .then(gender_messy)
        .otherwise(pl.col("gender"))
        .alias("gender"),
        _too_long_text("first", " " + LONG_MIDDLE_NAMES).alias("firstname"),
        pl.when(lb & (k == 2))
        .then(pl.concat_str(pl.col("last"), _s("\r\n")))
        .otherwise(pl.col("last"))
        .alias("lastname"),
        pl.when(lb & (k == 0))
        .then(pl.concat_str(pl.col("address1"), _s("\n"), pl.col("unit")))
        .when(lb & (k == 1))
        .then(pl.concat_str(pl.col("address1"), _s("\r\n"), pl.col("unit")))
        .otherwise(pl.col("address1"))
        .alias("address1"),
        pl.when(lb & (k == 3))
        .then(pl.concat_str(gate, _s("\nLeave at back door")))
        .otherwise(pl.col("address2"))
        .alias("address2"),
        "city",
        "state",
        "zipcode",
        "country",
        _boolean("registered").alias("registered"),
        _updated_at().alias("updated_at"),
    )


def _register_later(copies: pl.DataFrame) -> pl.DataFrame:
    """A later customer export: the guest has since created an account."""
    return copies.with_columns(registered=pl.lit(True))


def _products(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Product rows (typed, with dirt labels): three colour variants per master SKU."""
    name = "products.parquet"
    idx = np.arange(n, dtype=np.int64)
    master = idx // 3
    n_masters = int(master[-1]) + 1 if n else 0
    color_i = (master * 7 + idx % 3) % len(COLORS)  # distinct within a master
    # Master-level attributes, shared by the variants.
    cats = list(CATEGORIES)
    cat_m = rng.integers(0, len(cats), n_masters)
    sub_m = rng.integers(0, 3, n_masters)
    noun_m = rng.integers(0, 3, n_masters)
    premium = rng.random(n_masters) < 0.05
    dollars = np.where(
        premium, rng.lognormal(6.6, 0.6, n_masters), rng.lognormal(3.3, 0.8, n_masters)
    )
    dollars = np.clip(np.round(dollars), 4, 9_999).astype(np.int64)
    ending = rng.choice(np.array([-1, 0, -50]), size=n_masters, p=[0.7, 0.2, 0.1])
    cents = (dollars * 100 + ending)[master]
    on_sale = rng.random(n) < 0.15
    factor = rng.uniform(0.6, 0.85, n)
    sale_cents = np.maximum((cents * factor).astype(np.int64) // 100 * 100 - 1, 99)
    qoh = np.where(rng.random(n) < 0.1, 0, rng.integers(1, 500, n))
    cat, sub_i, noun_i = cat_m[master], sub_m[master], noun_m[master]
    category = _vocab(cats, cat)
    subcategory = pl.Series([s for c in cats for s in CATEGORIES[c][0]]).gather(cat * 3 + sub_i)
    noun = pl.Series([w for c in cats for w in CATEGORIES[c][1]]).gather(cat * 3 + noun_i)
    desc_a = rng.integers(0, len(DESCRIPTION_LINES), n_masters)[master]
    desc_b = (desc_a + 1 + rng.integers(0, len(DESCRIPTION_LINES) - 1, n)) % len(DESCRIPTION_LINES)
    df = pl.DataFrame(
        {
            "mastersku": pl.Series(100_000 + master).cast(pl.String),
            "color": _vocab(COLORS, color_i),
            "color_slug": _vocab(COLORS, color_i, 1),
            "brand": _vocab(BRANDS, rng.integers(0, len(BRANDS), n_masters)[master]),
            "adjective": _vocab(ADJECTIVES, rng.integers(0, len(ADJECTIVES), n_masters)[master]),
            "noun": noun,
            "category": category,
            "subcategory": subcategory,
            "desc_a": _vocab(DESCRIPTION_LINES, desc_a),
            "desc_b": _vocab(DESCRIPTION_LINES, desc_b),
            "price": cents,
            "saleprice": np.where(on_sale, sale_cents, 0),
            "onsale": on_sale,
            "qoh": qoh,
            "updated": _timestamps(rng.integers(ORDERS_FROM, ORDERS_TO, n)),
            "_dirt": _draw_dirt(rng, n, PLANS[name]),
        }
    )
    return df.with_columns(
        sku=pl.concat_str(pl.col("mastersku"), _s("-"), pl.col("color_slug")),
        title=pl.concat_str(
            pl.col("brand"),
            _s(" "),
            pl.col("adjective"),
            _s(" "),
            pl.col("noun"),
            _s(" - "),
            pl.col("color"),
        ),
        instock=pl.col("qoh") > 0,
    )


def _render_products(df: pl.DataFrame) -> pl.DataFrame:
    """Product rows as the raw export writes them (all text, even in Parquet)."""
    long_desc = pl.col("_v") % 2 == 0
    return _select(
        df,
        pl.when(_is("missing_required"))
        .then(None)
        .when(_is("too_long"))
        .then(pl.concat_str(pl.col("sku"), _s(LONG_SKU_TAIL)))
        .otherwise(pl.col("sku"))
        .alias("sku"),
        _too_long_text("title", LONG_TITLE_TAIL, when=~long_desc).alias("title"),
        _money("price", invalid_kind="invalid_number").alias("price"),
        pl.when(_is("line_breaks"))
        .then(pl.concat_str(pl.col("desc_a"), _variant(["\r\n", "\n", "\n\n"]), pl.col("desc_b")))
        .when(_is("too_long_text") & long_desc)
        .then(pl.concat_str(pl.col("desc_a"), _s(" "), pl.col("desc_b"), _s(LONG_DESCRIPTION_TAIL)))
        .otherwise(pl.concat_str(pl.col("desc_a"), _s(" "), pl.col("desc_b")))
        .alias("description"),
        pl.concat_str(_s("https://cdn.example.com/img/"), pl.col("sku"), _s(".jpg")).alias(
            "imageurl"
        ),
        pl.concat_str(
            _s("https://shop.example.com/p/"),
            pl.col("mastersku"),
            _s("?color="),
            pl.col("color_slug"),
        ).alias("linkurl"),
        "brand",
        "category",
        "subcategory",
        "mastersku",
        pl.col("qoh").cast(pl.String).alias("qoh"),
        _boolean("instock", invalid_kind="invalid_boolean").alias("instock"),
        _boolean("onsale").alias("onsale"),
        pl.when(pl.col("onsale")).then(_money("saleprice")).otherwise(None).alias("saleprice"),
        _updated_at().alias("updated_at"),
    )


def _restock(copies: pl.DataFrame) -> pl.DataFrame:
    """A later product export: stock has moved."""
    qoh = (pl.col("qoh") + 7) % 500
    return copies.with_columns(qoh=qoh, instock=qoh > 0)


def _orders(rng: np.random.Generator, n: int, customers: pl.DataFrame) -> pl.DataFrame:
    """Order rows (typed, with dirt labels, no money yet) placed by valid customers."""
    name = "orders.csv"
    if customers.height == 0:
        raise ValueError("no valid customers to place orders: raise --customers")
    weights = rng.lognormal(0.0, 1.0, customers.height)  # some customers order a lot
    who = rng.choice(customers.height, size=n, p=weights / weights.sum())
    buyer = customers.select("pid", "email_local", "email_domain", "first_slug", "last_slug")[who]
    entered = rng.integers(ORDERS_FROM, ORDERS_TO, n)
    status = rng.choice(STATUS_CODES, size=n, p=STATUS_WEIGHTS)
    shipped = np.isin(status, SHIPPED_CODES)
    coupon = _vocab(COUPONS, rng.integers(0, len(COUPONS), n))
    df = buyer.with_columns(
        ordernumber=_zfill(pl.Series(500_000_000 + 3 * np.arange(n, dtype=np.int64)), 10),
        customernumber=_customer_number(pl.col("pid")),
        dateentered=_timestamps(entered),
        shipdate=_timestamps(entered + rng.integers(DAY, 5 * DAY, n)),
        _shipped=pl.Series(shipped),
        status=pl.Series(status),
        couponcode=pl.when(pl.Series(rng.random(n) < 0.15)).then(coupon),
        shippingmethod=_vocab(SHIPPING_METHODS, rng.integers(0, len(SHIPPING_METHODS), n)),
        updated=_timestamps(entered + rng.integers(0, 20 * DAY, n)),
        _dirt=_draw_dirt(rng, n, PLANS[name]),
    )
    guest = _is("unknown_customer")
    return df.with_columns(
        shipdate=pl.when(pl.col("_shipped")).then(pl.col("shipdate")),
        email_local=pl.when(guest)
        .then(pl.concat_str(_s("guest."), pl.col("ordernumber")))
        .otherwise(pl.col("email_local")),
        email_domain=pl.when(guest).then(_s(GUEST_DOMAIN)).otherwise(pl.col("email_domain")),
        customernumber=pl.when(guest).then(None).otherwise(pl.col("customernumber")),
    ).drop("_shipped")


def _order_lines(
    rng: np.random.Generator,
    orders: pl.DataFrame,
    products: pl.DataFrame,
    items_per_order: float,
    unknown_master: int,
) -> pl.DataFrame:
    """Item rows (typed, with dirt labels) for the given orders from the given products, no
    SKU twice in an order. `orders` carries `_row`, its row in the order file, which becomes
    the lines' `_order`; orphan SKUs use master numbers from `unknown_master` on."""
    name = "order_items.csv"
    if products.height == 0:
        raise ValueError("no valid products to sell: raise --products")
    n_orders = orders.height
    if items_per_order >= 1:
        per_order = 1 + rng.poisson(items_per_order - 1, n_orders)
    else:
        per_order = (rng.random(n_orders) < items_per_order).astype(np.int64)
    per_order = np.minimum(per_order, products.height)
    order_of_line = np.repeat(np.arange(n_orders), per_order)
    popularity = 1.0 / (np.arange(products.height) + 10.0)  # a few best sellers
    product_of_line = rng.choice(
        products.height, size=len(order_of_line), p=popularity / popularity.sum()
    )
    lines = pl.DataFrame({"_order": order_of_line, "_product": product_of_line}).unique(
        maintain_order=True
    )
    n = lines.height
    order_i = lines["_order"].to_numpy()
    product_i = lines["_product"].to_numpy()
    sold = products.select("sku", "price", "saleprice", "onsale", "color_slug")[product_i]
    price = np.where(
        sold["onsale"].to_numpy(), sold["saleprice"].to_numpy(), sold["price"].to_numpy()
    ).astype(np.int64)
    pct_off = rng.choice(np.array([0, 10, 15, 20]), size=n, p=[0.8, 0.1, 0.05, 0.05])
    discounted = price * (100 - pct_off) // 100
    quantity = rng.choice(np.arange(1, 6), size=n, p=[0.6, 0.25, 0.08, 0.05, 0.02])
    bought = orders.select("_row", "ordernumber", "status", "updated")[order_i]
    # Orphans point outside the files: order numbers no order has (the order file leads with
    # "05"), SKUs on master numbers past the catalogue; one per row, so keys stay unique.
    orphan_order = _zfill(pl.Series(900_000_000 + np.arange(n, dtype=np.int64)), 10)
    orphan_sku = pl.concat_str(
        pl.Series(unknown_master + np.arange(n, dtype=np.int64)).cast(pl.String),
        _s("-"),
        sold["color_slug"],
    )
    df = pl.DataFrame(
        {
            "_order": bought["_row"].cast(pl.Int64),
            "ordernumber": bought["ordernumber"],
            "sku": sold["sku"],
            "status": bought["status"],
            "quantity": quantity,
            "price": price,
            "discountedprice": discounted,
            "itemtotal": quantity * discounted,
            "updated": bought["updated"],
            "_dirt": _draw_dirt(rng, n, PLANS[name]),
        }
    )
    return df.with_columns(
        ordernumber=pl.when(_is("orphan_order"))
        .then(orphan_order)
        .otherwise(pl.col("ordernumber")),
        sku=pl.when(_is("orphan_sku")).then(orphan_sku).otherwise(pl.col("sku")),
    )


def _render_order_items(df: pl.DataFrame) -> pl.DataFrame:
    """Item rows as the raw export writes them."""
    return _select(
        df,
        "ordernumber",
        pl.when(_is("missing_required")).then(None).otherwise(pl.col("sku")).alias("sku"),
        _status("status").alias("status"),
        pl.when(_is("invalid_number"))
        .then(_variant(["two", "1.5", "several"]))
        .otherwise(pl.col("quantity").cast(pl.String))
        .alias("quantity"),
        _money("price").alias("price"),
        _money("discountedprice").alias("discountedprice"),
        _money("itemtotal").alias("itemtotal"),
        _updated_at().alias("updated_at"),
    )


def _with_order_money(
    rng: np.random.Generator, orders: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """Order totals from its lines (shipping free from $75, state-like tax); orders without
    lines (the rejected ones) get a plausible amount instead."""
    n = orders.height
    summed = np.bincount(
        lines["_order"].to_numpy(), weights=lines["itemtotal"].to_numpy(), minlength=n
    )
    has_lines = np.bincount(lines["_order"].to_numpy(), minlength=n) > 0
    fallback = np.round(rng.lognormal(4.0, 0.7, n) * 100)
    item_total = np.where(has_lines, summed, fallback).astype(np.int64)
    shipping = np.where(
        item_total >= 7_500, 0, rng.choice(np.array([599, 795, 999]), size=n)
    ).astype(np.int64)
    tax_rate = rng.choice(np.array([0.0, 0.06, 0.07, 0.0825]), size=n)
    tax = np.round(item_total * tax_rate).astype(np.int64)
    return orders.with_columns(
        itemtotal=pl.Series(item_total),
        shippingtotal=pl.Series(shipping),
        taxtotal=pl.Series(tax),
        ordertotal=pl.Series(item_total + shipping + tax),
    )


def _render_orders(df: pl.DataFrame) -> pl.DataFrame:
    """Order rows as the raw export writes them."""
    return _select(
        df,
        "ordernumber",
        _datetime("dateentered").alias("dateentered"),
        _email(respell_duplicates=False).alias("email"),
        "customernumber",
        _money("itemtotal").alias("itemtotal"),
        _money("shippingtotal").alias("shippingtotal"),
        _money("taxtotal").alias("taxtotal"),
        _money("ordertotal").alias("ordertotal"),
        _status("status").alias("status"),
        _datetime("shipdate").alias("shipdate"),
        "couponcode",
        "shippingmethod",
        _updated_at().alias("updated_at"),
    )


def _audience_attributes(rng: np.random.Generator, df: pl.DataFrame) -> pl.DataFrame:
    """Loyalty tier and favourite category: profile fields, blank for some members."""
    n = df.height
    tier = _vocab(LOYALTY_TIERS, rng.integers(0, len(LOYALTY_TIERS), n))
    fav = _vocab(list(CATEGORIES), rng.integers(0, len(CATEGORIES), n))
    return df.with_columns(
        loyalty_tier=pl.when(pl.Series(rng.random(n) < 0.8)).then(tier),
        favorite_category=pl.when(pl.Series(rng.random(n) < 0.7)).then(fav),
        updated=_timestamps(rng.integers(ORDERS_FROM, ORDERS_TO, n)),
    )


def _email_audience(rng: np.random.Generator, people: pl.DataFrame, n: int) -> pl.DataFrame:
    """Email-audience rows (typed, with dirt labels): distinct persons, partly customers."""
    members = people[np.sort(rng.choice(people.height, size=n, replace=False))]
    df = _audience_attributes(rng, members)
    return df.with_columns(_dirt=_draw_dirt(rng, n, PLANS["email_audience.csv"]))


def _render_email_audience(df: pl.DataFrame) -> pl.DataFrame:
    """Email-audience rows as the raw export writes them."""
    lb, k = _is("line_breaks"), pl.col("_v") % 2
    return _select(
        df,
        _email(respell_duplicates=True).alias("email"),
        pl.when(lb & (k == 0))
        .then(pl.concat_str(pl.col("first"), _s("\n")))
        .otherwise(_too_long_text("first", " " + LONG_MIDDLE_NAMES))
        .alias("firstname"),
        pl.when(lb & (k == 1))
        .then(pl.concat_str(pl.col("last"), _s("\r\n")))
        .otherwise(pl.col("last"))
        .alias("lastname"),
        "loyalty_tier",
        "favorite_category",
        _updated_at().alias("updated_at"),
    )


def _sms_audience(rng: np.random.Generator, people: pl.DataFrame, n: int) -> pl.DataFrame:
    """SMS-audience rows (typed, with dirt labels): distinct persons, so distinct phones."""
    members = people[rng.choice(people.height, size=n, replace=False)]
    df = _audience_attributes(rng, members).with_columns(
        optedout=pl.Series(rng.random(n) < 0.08),
        _with_email=pl.Series(rng.random(n) < 0.7),
        _dirt=_draw_dirt(rng, n, PLANS["sms_audience.csv"]),
    )
    return df


def _render_sms_audience(df: pl.DataFrame) -> pl.DataFrame:
    """SMS-audience rows as the raw export writes them."""
    with_email = pl.col("_with_email") | _is("email_case")
    return _select(
        df,
        _phone(respell_duplicates=True).alias("phone"),
        _boolean("optedout").alias("optedout"),
        pl.when(with_email).then(_email(respell_duplicates=False)).alias("email"),
        pl.col("first").alias("firstname"),
        "loyalty_tier",
        _updated_at().alias("updated_at"),
    )


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def _write(path: Path, df: pl.DataFrame, headers: Mapping[str, str]) -> None:
    """Write one file with its export headers; Parquet keeps every column as text."""
    out = df.select(pl.col(c).cast(pl.String).alias(h) for c, h in headers.items())
    if path.suffix == ".parquet":
        out.write_parquet(path, statistics=False)
    else:
        out.write_csv(path)


def generate(
    out_dir: Path,
    *,
    customers: int = 300,
    products: int | None = None,
    orders: int | None = None,
    items_per_order: float = 2.0,
    email_audience: int | None = None,
    sms_audience: int | None = None,
    seed: int = 7,
    manifest: Path | None = None,
) -> dict:
    """Write the six raw files to `out_dir` and the manifest (default `out_dir/manifest.json`);
    return the manifest. Sizes default to the proportions of the CLI."""
    products = max(50, customers // 4) if products is None else products
    orders = customers if orders is None else orders
    email_audience = customers if email_audience is None else email_audience
    sms_audience = customers // 2 if sms_audience is None else sms_audience
    if min(customers, products) < 1 or min(orders, email_audience, sms_audience) < 0:
        raise ValueError("need at least one customer and one product; no negative sizes")
    if items_per_order < 0:
        raise ValueError("items per order cannot be negative")

    # One independent stream per table: resizing one table leaves the others' draws alone.
    streams = np.random.SeedSequence(seed).spawn(7)
    rng_people, rng_c, rng_p, rng_o, rng_i, rng_e, rng_s = (
        np.random.default_rng(s) for s in streams
    )
    people = _people(rng_people, customers + max(email_audience, sms_audience))

    cust = _customers(rng_c, people.head(customers))
    prod = _products(rng_p, products)
    order_rows = _orders(rng_o, orders, _valid(cust, "customers.csv"))
    # Items only for orders and products cleaning keeps: orphans are exactly the counted ones.
    kept_orders = _valid(order_rows.with_row_index("_row"), "orders.csv")
    unknown_master = 100_000 + (products - 1) // 3 + 1000  # past the last master SKU
    lines = _order_lines(
        rng_i, kept_orders, _valid(prod, "products.parquet"), items_per_order, unknown_master
    )
    order_rows = _with_order_money(rng_o, order_rows, lines)

    tables = {
        "customers.csv": _table(rng_c, cust, _render_customers, _register_later),
        "products.parquet": _table(rng_p, prod, _render_products, _restock),
        "orders.csv": _table(rng_o, order_rows, _render_orders),
        "order_items.csv": _table(rng_i, lines, _render_order_items),
        "email_audience.csv": _table(
            rng_e, _email_audience(rng_e, people, email_audience), _render_email_audience
        ),
        "sms_audience.csv": _table(
            rng_s, _sms_audience(rng_s, people, sms_audience), _render_sms_audience
        ),
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        _write(out_dir / name, df, HEADERS[name])
    result = {
        "seed": seed,
        "sizes": {
            "customers": customers,
            "products": products,
            "orders": orders,
            "items_per_order": items_per_order,
            "email_audience": email_audience,
            "sms_audience": sms_audience,
        },
        "files": {name: _manifest_entry(name, df) for name, df in tables.items()},
    }
    manifest = out_dir / "manifest.json" if manifest is None else manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def _count(text: str) -> int:
    """argparse type: a non-negative integer."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m listrak_assets.generate",
        description="Write the six raw Listrak inputs, realistic and deliberately messy, plus a "
        "manifest that counts every kind of dirt.",
    )
    p.add_argument("--customers", type=_count, default=300, help="customers (default 300)")
    p.add_argument("--products", type=_count, help="products (default max(50, customers // 4))")
    p.add_argument("--orders", type=_count, help="orders (default: as many as customers)")
    p.add_argument(
        "--items-per-order", type=float, default=2.0, help="mean items per order (default 2.0)"
    )
    p.add_argument("--email-audience", type=_count, help="email audience (default customers)")
    p.add_argument("--sms-audience", type=_count, help="SMS audience (default customers // 2)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", type=Path, default=Path("data/generated"), help="output folder")
    p.add_argument("--manifest", type=Path, help="manifest path (default <out>/manifest.json)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: generate, then print rows per file and the time it took."""
    parser = _parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        result = generate(
            args.out,
            customers=args.customers,
            products=args.products,
            orders=args.orders,
            items_per_order=args.items_per_order,
            email_audience=args.email_audience,
            sms_audience=args.sms_audience,
            seed=args.seed,
            manifest=args.manifest,
        )
    except ValueError as err:  # sizes too small to build valid references from
        parser.error(str(err))
    elapsed = time.perf_counter() - started
    for name, entry in result["files"].items():
        print(f"{name:<20} {entry['rows']:>10,} rows")
    print(f"wrote {args.out} in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
