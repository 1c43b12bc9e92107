"""People: one pool shared by customers and audiences, so a person keeps name, e-mail and phone
in every file they appear in."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from listrak_assets.generator.exprs import timestamps, vocab
from listrak_assets.generator.phones import CAPACITY, foreign_numbers
from listrak_assets.generator.vocabulary import (
    AREA_CODES,
    BIRTHDAYS_FROM,
    BIRTHDAYS_TO,
    CATEGORIES,
    EMAIL_DOMAINS,
    FEMALE_FIRST,
    LAST_NAMES,
    LOYALTY_TIERS,
    MALE_FIRST,
    ORDERS_FROM,
    ORDERS_TO,
)

# E-mail local parts people pick, before the person number that makes them unique.
EMAIL_PATTERNS: list[Callable[[str, str], str]] = [
    lambda first, last: f"{first}.{last}",
    lambda first, last: f"{first}{last}",
    lambda first, last: f"{first[0]}.{last}",
    lambda first, last: f"{first}_{last}",
    lambda first, last: f"{last}.{first}",
]


def persons(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Persons 0..n-1 with unique e-mail (name + person number) and unique phone numbers."""
    if n > CAPACITY:
        raise ValueError(f"phone numbers are unique for up to {CAPACITY:,} persons")
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
            "first": vocab(first_names, first_i),
            "first_slug": vocab(first_names, first_i, 1),
            "last": vocab(LAST_NAMES, last_i),
            "last_slug": vocab(LAST_NAMES, last_i, 1),
            "sex": vocab(["F", "M"], sex_i),
            "gender": vocab(["F", "M", "N"], gender_i),
            "email_local": vocab(locals_, local_i),
            "email_domain": vocab(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n)),
            "area": vocab(AREA_CODES, area_i),
            "exch": 200 + q // 10_000,
            "line": q % 10_000 + 10_000,  # 5 digits; the last 4 are the line
            "birthday": pl.Series(
                rng.integers(BIRTHDAYS_FROM, BIRTHDAYS_TO + 1, n), dtype=pl.Int32
            ),
        }
    )
    # A mobile number abroad, drawn last so the draws above stay as they were.
    df = pl.concat([df, foreign_numbers(rng, pid)], how="horizontal")
    return df.with_columns(
        email_local=pl.concat_str(pl.col("email_local"), pl.col("pid").cast(pl.String)),
        exch=pl.col("exch").cast(pl.String),
        line=pl.col("line").cast(pl.String).str.slice(1),
        birthday=pl.col("birthday").cast(pl.Date),
    )


def customer_number(pid: pl.Expr) -> pl.Expr:
    """The shop's own customer id: 8 digits, the same in every file."""
    return (pid * 7 + 10_000_000).cast(pl.String)


def audience_attributes(rng: np.random.Generator, df: pl.DataFrame) -> pl.DataFrame:
    """Loyalty tier and favourite category: profile fields, blank for some members."""
    n = df.height
    tier = vocab(LOYALTY_TIERS, rng.integers(0, len(LOYALTY_TIERS), n))
    fav = vocab(list(CATEGORIES), rng.integers(0, len(CATEGORIES), n))
    return df.with_columns(
        loyalty_tier=pl.when(pl.Series(rng.random(n) < 0.8)).then(tier),
        favorite_category=pl.when(pl.Series(rng.random(n) < 0.7)).then(fav),
        updated=timestamps(rng.integers(ORDERS_FROM, ORDERS_TO, n)),
    )
