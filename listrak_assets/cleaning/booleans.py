"""Booleans: the spellings exports use, mapped to true/false."""

import polars as pl

from listrak_assets.cleaning.judged import per_distinct
from listrak_assets.cleaning.text import on_series

TRUE_WORDS = ("true", "t", "yes", "y", "1", "on")
FALSE_WORDS = ("false", "f", "no", "n", "0", "off")
_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


def boolean_expr(text: pl.Expr) -> pl.Expr:
    """True/false from Y/N, yes/no, true/false, 1/0, on/off in any case; anything else null.
    Read once per distinct text, as the closed lists are (a flag column has a few spellings)."""

    def look_up(s: pl.Series) -> pl.Series:
        return s.str.to_lowercase().replace_strict(_WORDS, default=None, return_dtype=pl.Boolean)

    return per_distinct(text, look_up, pl.Boolean())


def normalise_boolean(text: pl.Series) -> pl.Series:
    """`boolean_expr` over one series."""
    return on_series(text, boolean_expr)
