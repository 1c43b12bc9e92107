"""Phone numbers from around the world, as people in a US export type them.

Each person has one mobile number abroad, in a range libphonenumber knows as allocated, so
`phonenumbers` (the oracle the tests use) finds every one valid. How it is written decides
what cleaning with the default country `US` must make of it: with `+`, with the US exit
code `011`, or with the national trunk prefix in brackets (`+44 (0)7911 ...`) it is the same
number; with another country's exit code (`00`, Australia's `0011`) or with no prefix at all
it is not a number a US export can mean, and is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from listrak_assets.generator.exprs import text

# An injective shuffle of a person number within 10**k (3**18 is coprime with 10).
_SHUFFLE = 387_420_489


@dataclass(frozen=True)
class Country:
    """Mobile numbers of one country: calling code, leading digits of allocated ranges, the
    digits after them, and whether the national form starts with a trunk `0`."""

    calling_code: str
    prefixes: tuple[str, ...]
    free_digits: int
    trunk_zero: bool

    @property
    def capacity(self) -> int:
        return int(len(self.prefixes) * 10**self.free_digits)


COUNTRIES = (
    Country("44", ("71", "72", "73"), 8, trunk_zero=True),  # United Kingdom
    Country("49", ("151", "152", "157", "160", "170", "171", "175", "176"), 8, True),  # Germany
    Country("33", ("60", "61", "62", "64", "65", "66", "67", "68"), 7, True),  # France
    Country("61", ("40", "41", "42", "43", "46"), 7, True),  # Australia
    Country("52", ("55", "33", "81", "56"), 8, False),  # Mexico
    Country("91", ("98", "99", "97", "96", "95", "94", "93", "90"), 8, True),  # India
    Country("81", ("901", "902", "903", "904", "905", "906", "907", "908"), 7, True),  # Japan
)
CAPACITY = min(c.capacity for c in COUNTRIES)  # numbers stay unique below this many persons


def foreign_numbers(rng: np.random.Generator, pid: np.ndarray) -> pl.DataFrame:
    """Each person's number abroad: `cc` (calling code), `nsn` (national significant
    number) and `trunk` (the national form starts with 0). Unique within a country below
    `CAPACITY` persons: the prefix comes from the person number's block, the rest from a
    shuffle within the block."""
    country = rng.integers(0, len(COUNTRIES), len(pid))
    free = np.array([c.free_digits for c in COUNTRIES])[country]
    n_prefixes = np.array([len(c.prefixes) for c in COUNTRIES])[country]
    offsets = np.cumsum([0, *(len(c.prefixes) for c in COUNTRIES)])[:-1]
    block = 10**free
    prefix_i = offsets[country] + (pid // block) % n_prefixes
    rest = (pid * _SHUFFLE) % block
    prefixes = pl.Series([p for c in COUNTRIES for p in c.prefixes], dtype=pl.String)
    return pl.DataFrame(
        {
            "cc": pl.Series([c.calling_code for c in COUNTRIES], dtype=pl.String).gather(country),
            "_prefix": prefixes.gather(prefix_i),
            "_rest": pl.Series(rest, dtype=pl.Int64),
            "_free": pl.Series(free, dtype=pl.Int64),
            "trunk": pl.Series([c.trunk_zero for c in COUNTRIES]).gather(country),
        }
    ).select(
        "cc",
        pl.concat_str("_prefix", pl.col("_rest").cast(pl.String).str.zfill(pl.col("_free"))).alias(
            "nsn"
        ),
        "trunk",
    )


def _grouped() -> pl.Expr:
    """The national number in two groups, as people space it (`7911 123456`)."""
    nsn = pl.col("nsn")
    return pl.concat_str(nsn.str.slice(0, 3), text(" "), nsn.str.slice(3))


def world_formats() -> list[pl.Expr]:
    """A number abroad written so that, read from the US, it is still that number."""
    cc, grouped = pl.col("cc"), _grouped()
    trunk = pl.concat_str(text("+"), cc, text(" (0)"), grouped)
    return [
        pl.concat_str(text("+"), cc, text(" "), grouped),
        pl.when(pl.col("trunk")).then(trunk).otherwise(pl.concat_str(text("+"), cc, pl.col("nsn"))),
        pl.concat_str(text("011 "), cc, text(" "), grouped),  # the US exit code
        pl.concat_str(text("+"), cc, text("-"), pl.col("nsn").str.slice(0, 3), text("-"),
                      pl.col("nsn").str.slice(3)),
    ]  # fmt: skip


def world_invalid() -> list[pl.Expr]:
    """Numbers a US export cannot mean: another country's exit code, a country code without
    `+`, calling codes and ranges that do not exist."""
    cc, grouped = pl.col("cc"), _grouped()
    return [
        pl.concat_str(text("0011 "), cc, text(" "), grouped),  # Australia's exit code
        pl.concat_str(text("00 "), cc, text(" "), grouped),  # Europe's exit code
        text("+1 (000) 000-0000"),
        pl.concat_str(text("+999 "), grouped),  # no such calling code
        text("+12345678"),
    ]
