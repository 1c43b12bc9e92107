"""Customers: one row per person of the shared pool, with addresses at home and abroad."""

from __future__ import annotations

import numpy as np
import polars as pl

from listrak_assets.generator import values
from listrak_assets.generator.dirt import CLEAN, DirtPlan, carries, draw_dirt
from listrak_assets.generator.exprs import select, text, timestamps, variant, vocab
from listrak_assets.generator.files import RawFile
from listrak_assets.generator.people import customer_number
from listrak_assets.generator.vocabulary import (
    FOREIGN_CITIES,
    FOREIGN_SHARE,
    LONG_MIDDLE_NAMES,
    ORDERS_FROM,
    ORDERS_TO,
    STREETS,
    UNITS,
    US_CITIES,
)

# `Zip` and `Mobile Phone`: mapped by name in the settings file, so spelled exactly so.
HEADERS = {
    "email": "Email", "customernumber": "CustomerNumber", "mobilephone": "Mobile Phone",
    "birthday": "BIRTHDAY", "gender": "gender", "firstname": "FirstName",
    "lastname": "lastName", "address1": "Address1", "address2": "ADDRESS2", "city": "City",
    "state": "State", "zipcode": "Zip", "country": "country", "registered": "Registered",
    "updated_at": "updated_at",
}  # fmt: skip
FILE = RawFile(
    name="customers.csv",
    key=("email",),
    plan=DirtPlan(
        reject=("invalid_email", "invalid_phone", "invalid_date", "too_long", "missing_required"),
        blanked=("invalid_phone", "invalid_date", "too_long"),  # mobile, birthday, customer no.
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
    headers=HEADERS,
)


def rows(rng: np.random.Generator, people: pl.DataFrame) -> pl.DataFrame:
    """Customer rows (typed, with dirt labels), one per person."""
    n = people.height
    foreign = rng.random(n) < FOREIGN_SHARE
    city_i = rng.integers(0, len(US_CITIES), n)
    foreign_i = rng.integers(0, len(FOREIGN_CITIES), n)

    def place(part: int) -> pl.Series:
        us = vocab(US_CITIES, city_i, part) if part < 3 else pl.repeat("US", n, eager=True)
        abroad = vocab(FOREIGN_CITIES, foreign_i, part)
        return pl.select(pl.when(pl.Series(foreign)).then(abroad).otherwise(us)).to_series()

    unit = vocab(UNITS, rng.integers(0, len(UNITS), n))
    df = people.with_columns(
        customernumber=customer_number(pl.col("pid")),
        address1=pl.concat_str(
            pl.Series(rng.integers(1, 9999, n)).cast(pl.String),
            text(" "),
            vocab(STREETS, rng.integers(0, len(STREETS), n)),
        ),
        unit=unit,
        address2=pl.when(pl.Series(rng.random(n) < 0.25)).then(unit),
        city=place(0),
        state=place(1),
        zipcode=place(2),
        country=place(3),
        registered=pl.Series(rng.random(n) < 0.6),
        updated=timestamps(rng.integers(ORDERS_FROM, ORDERS_TO, n)),
        _no_phone=pl.Series(rng.random(n) < 0.12),
        _no_birthday=pl.Series(rng.random(n) < 0.30),
        _no_gender=pl.Series(rng.random(n) < 0.05),
        _dirt=draw_dirt(rng, n, FILE.plan),
    )
    # Optional values are blank only where no dirt needs them.
    df = df.with_columns(
        area=pl.when(pl.col("_no_phone") & carries(CLEAN)).then(None).otherwise(pl.col("area")),
        birthday=pl.when(pl.col("_no_birthday") & carries(CLEAN))
        .then(None)
        .otherwise(pl.col("birthday")),
        gender=pl.when(carries("gender_format"))
        .then(pl.col("sex"))
        .when(pl.col("_no_gender") & carries(CLEAN))
        .then(None)
        .otherwise(pl.col("gender")),
    ).drop("_no_phone", "_no_birthday", "_no_gender")
    return df


def render(df: pl.DataFrame) -> pl.DataFrame:
    """Customer rows as the raw export writes them."""
    lb = carries("line_breaks")
    k = pl.col("_v") % 4
    gender_messy = (
        pl.when(pl.col("gender") == "M")
        .then(variant(["male", "Male", "m"]))
        .otherwise(variant(["female", "Female", "f"]))
    )
    gate = pl.concat_str(text("Gate code "), (pl.col("_v") % 9000 + 1000).cast(pl.String))
    return select(
        df,
        values.email(respell_duplicates=True).alias("email"),
        pl.when(carries("too_long"))
        .then(pl.concat_str(text("LEGACY-"), pl.col("customernumber"), text("-MIGRATED-2019")))
        .otherwise(pl.col("customernumber"))
        .alias("customernumber"),
        values.phone(respell_duplicates=False).alias("mobilephone"),
        values.date("birthday").alias("birthday"),
        pl.when(carries("gender_format"))
        .then(gender_messy)
        .otherwise(pl.col("gender"))
        .alias("gender"),
        values.too_long_text("first", " " + LONG_MIDDLE_NAMES).alias("firstname"),
        pl.when(lb & (k == 2))
        .then(pl.concat_str(pl.col("last"), text("\r\n")))
        .otherwise(pl.col("last"))
        .alias("lastname"),
        pl.when(lb & (k == 0))
        .then(pl.concat_str(pl.col("address1"), text("\n"), pl.col("unit")))
        .when(lb & (k == 1))
        .then(pl.concat_str(pl.col("address1"), text("\r\n"), pl.col("unit")))
        .otherwise(pl.col("address1"))
        .alias("address1"),
        pl.when(lb & (k == 3))
        .then(pl.concat_str(gate, text("\nLeave at back door")))
        .otherwise(pl.col("address2"))
        .alias("address2"),
        "city",
        "state",
        "zipcode",
        "country",
        values.boolean("registered").alias("registered"),
        values.updated_at().alias("updated_at"),
    )


def register_later(copies: pl.DataFrame) -> pl.DataFrame:
    """A later customer export: the guest has since created an account."""
    return copies.with_columns(registered=pl.lit(True))
