"""The SMS audience: distinct persons, so distinct phones, some opted out."""

from __future__ import annotations

import numpy as np
import polars as pl

from listrak_assets.generator import values
from listrak_assets.generator.dirt import DirtPlan, carries, draw_dirt
from listrak_assets.generator.exprs import select
from listrak_assets.generator.files import RawFile
from listrak_assets.generator.people import audience_attributes

# `Phone Number`: mapped by name in the settings file, so spelled exactly so.
HEADERS = {
    "phone": "Phone Number", "optedout": "OptedOut", "email": "email",
    "firstname": "FirstName", "loyalty_tier": "loyalty_tier", "updated_at": "updated_at",
}  # fmt: skip
FILE = RawFile(
    name="sms_audience.csv",
    key=("phone",),
    plan=DirtPlan(
        reject=("invalid_phone",),
        cosmetic={"phone_format": 0.20, "boolean_format": 0.06, "email_case": 0.06},
    ),
    headers=HEADERS,
)


def rows(rng: np.random.Generator, people: pl.DataFrame, n: int) -> pl.DataFrame:
    """SMS-audience rows (typed, with dirt labels): distinct persons, so distinct phones."""
    members = people[rng.choice(people.height, size=n, replace=False)]
    df = audience_attributes(rng, members).with_columns(
        optedout=pl.Series(rng.random(n) < 0.08),
        _with_email=pl.Series(rng.random(n) < 0.7),
        _dirt=draw_dirt(rng, n, FILE.plan),
    )
    return df


def opt_out_earlier(copies: pl.DataFrame) -> pl.DataFrame:
    """An older export had the number opted out, the newer one says it is not: an opt-out
    is sticky, so the number must come out opted out (the manifest's `sticky_opt_outs`)."""
    return copies.with_columns(optedout=pl.col("optedout") | (pl.col("_sign") < 0))


def render(df: pl.DataFrame) -> pl.DataFrame:
    """SMS-audience rows as the raw export writes them, with what the manifest counts opt-outs
    from (`_person`, `_optedout`, `_updated`; not written)."""
    with_email = pl.col("_with_email") | carries("email_case")
    return select(
        df,
        values.phone(respell_duplicates=True).alias("phone"),
        values.boolean("optedout").alias("optedout"),
        pl.when(with_email).then(values.email(respell_duplicates=False)).alias("email"),
        pl.col("first").alias("firstname"),
        "loyalty_tier",
        values.updated_at().alias("updated_at"),
        pl.col("pid").alias("_person"),
        pl.col("optedout").alias("_optedout"),
        pl.col("updated").alias("_updated"),
    )
