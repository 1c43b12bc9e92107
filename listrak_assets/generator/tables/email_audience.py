"""The email audience: distinct persons, partly customers, with two profile attributes."""

from __future__ import annotations

import numpy as np
import polars as pl

from listrak_assets.generator import values
from listrak_assets.generator.dirt import DirtPlan, carries, draw_dirt
from listrak_assets.generator.exprs import select, text
from listrak_assets.generator.files import RawFile
from listrak_assets.generator.people import audience_attributes
from listrak_assets.generator.vocabulary import LONG_MIDDLE_NAMES

HEADERS = {
    "email": "Email", "firstname": "FirstName", "lastname": "LastName",
    "loyalty_tier": "loyalty_tier", "favorite_category": "favorite_category",
    "updated_at": "updated_at",
}  # fmt: skip
FILE = RawFile(
    name="email_audience.csv",
    key=("email",),
    plan=DirtPlan(
        reject=("invalid_email",),
        cosmetic={"email_case": 0.20, "line_breaks": 0.04, "too_long_text": 0.03},
    ),
    headers=HEADERS,
)


def rows(rng: np.random.Generator, people: pl.DataFrame, n: int) -> pl.DataFrame:
    """Email-audience rows (typed, with dirt labels): distinct persons, partly customers."""
    members = people[np.sort(rng.choice(people.height, size=n, replace=False))]
    df = audience_attributes(rng, members)
    return df.with_columns(_dirt=draw_dirt(rng, n, FILE.plan))


def render(df: pl.DataFrame) -> pl.DataFrame:
    """Email-audience rows as the raw export writes them."""
    lb, k = carries("line_breaks"), pl.col("_v") % 2
    return select(
        df,
        values.email(respell_duplicates=True).alias("email"),
        pl.when(lb & (k == 0))
        .then(pl.concat_str(pl.col("first"), text("\n")))
        .otherwise(values.too_long_text("first", " " + LONG_MIDDLE_NAMES))
        .alias("firstname"),
        pl.when(lb & (k == 1))
        .then(pl.concat_str(pl.col("last"), text("\r\n")))
        .otherwise(pl.col("last"))
        .alias("lastname"),
        "loyalty_tier",
        "favorite_category",
        values.updated_at().alias("updated_at"),
    )
