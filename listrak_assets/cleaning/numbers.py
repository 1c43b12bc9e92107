"""Numbers: currency amounts and counts as exports write them."""

import polars as pl

from listrak_assets.cleaning.text import fix_some, where

# Currency symbols and codes, thousands separators and spaces carry no value for Listrak,
# which wants a plain number with '.' as the decimal point.
_NOISE = r"(?i)[$€£¥\s,]|usd|eur|gbp|cad"
_PLAIN = r"^[+-]?(\d+\.?\d*|\.\d+)$"


def normalise_decimal(text: pl.Series) -> pl.Series:
    """A plain number rounded to cents, or null when the text is not a number."""
    text = fix_some(text, ~text.str.contains(_PLAIN), lambda s: s.str.replace_all(_NOISE, ""))
    ok = text.str.contains(_PLAIN)
    return where(ok, text).cast(pl.Float64, strict=False).round(2)


def normalise_integer(text: pl.Series) -> pl.Series:
    """A whole number (`45`, `1,200`, `45.0`), or null when the text is not one."""
    text = text.str.replace_all(",", "", literal=True)
    ok = text.str.contains(r"^[+-]?\d{1,18}(\.0*)?$")
    return where(ok, text.str.replace(r"\.0*$", "")).cast(pl.Int64, strict=False)
