"""Booleans: the spellings exports use, mapped to true/false."""

import polars as pl

from listrak_assets.cleaning.text import clean_text

TRUE_WORDS = ("true", "t", "yes", "y", "1", "on")
FALSE_WORDS = ("false", "f", "no", "n", "0", "off")


def normalise_boolean(expr: pl.Expr) -> pl.Expr:
    """True/false from Y/N, yes/no, true/false, 1/0, on/off in any case; anything else null."""
    word = clean_text(expr).str.to_lowercase()
    return (
        pl.when(word.is_in(TRUE_WORDS))
        .then(pl.lit(True))
        .when(word.is_in(FALSE_WORDS))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )
