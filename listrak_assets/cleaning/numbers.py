"""Numbers: currency amounts and counts as exports write them."""

import polars as pl

from listrak_assets.cleaning.text import clean_text

# Currency symbols and codes, thousands separators and spaces carry no value for Listrak,
# which wants a plain number with '.' as the decimal point.
_NOISE = r"(?i)[$€£¥\s,]|usd|eur|gbp|cad"


def normalise_decimal(expr: pl.Expr) -> pl.Expr:
    """A plain number rounded to cents, or null when the text is not a number."""
    text = clean_text(expr).str.replace_all(_NOISE, "")
    ok = text.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)$")
    return pl.when(ok).then(text.cast(pl.Float64, strict=False).round(2))


def normalise_integer(expr: pl.Expr) -> pl.Expr:
    """A whole number (`45`, `1,200`, `45.0`), or null when the text is not one."""
    text = clean_text(expr).str.replace_all(r"[\s,]", "")
    ok = text.str.contains(r"^[+-]?\d{1,18}(\.0*)?$")
    return pl.when(ok).then(text.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False))
