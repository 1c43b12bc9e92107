"""Phone numbers to E.164 digits with the country code and no `+` (Listrak's format).

Vectorised rules rather than a per-number parser: a number written with `+` or `00` already
carries its country code; any other number is national to the default country, whose trunk
prefix is dropped and calling code added. Numbers that don't fit are left null (rejected).
"""

import polars as pl

from listrak_assets.cleaning.text import fix_some
from listrak_assets.formats import COUNTRIES, E164_PATTERN

_EXTENSION = r"(?i)\s*(?:#|x|ext\.?|extension)\s*\d{1,6}$"
_ALLOWED = r"^\+?[\d\s().\-/]+$"


def normalise_phone(text: pl.Series, default_country: str) -> pl.Series:
    """E.164 digits without `+`, or null when the text is not a phone number."""
    country = COUNTRIES[default_country]
    text = fix_some(text, text.str.contains(r"(?i)[#a-z]"), lambda s: s.str.replace(_EXTENSION, ""))
    frame = pl.DataFrame({"text": text}).with_columns(
        digits=pl.col("text").str.replace_all(r"\D", ""),
        plus=pl.col("text").str.starts_with("+"),
        zeros=pl.col("text").str.starts_with("00"),
        allowed=pl.col("text").str.contains(_ALLOWED),
    )
    digits, national = pl.col("digits"), pl.col("digits")
    if country.trunk_prefix:
        # Drop one trunk prefix when the rest still has a valid national length.
        stripped = digits.str.strip_prefix(country.trunk_prefix)
        national = (
            pl.when(
                digits.str.starts_with(country.trunk_prefix)
                & stripped.str.len_bytes().is_in(country.national_lengths)
            )
            .then(stripped)
            .otherwise(digits)
        )
    frame = frame.with_columns(national=national)
    national_ok = pl.col("national").str.len_bytes().is_in(country.national_lengths)
    if country.calling_code == "1":
        # NANP area codes and exchange codes never start with 0 or 1.
        national_ok = national_ok & pl.col("national").str.contains(r"^[2-9]\d{2}[2-9]")
    international = pl.col("plus") | pl.col("zeros")
    frame = frame.with_columns(
        e164=pl.when(pl.col("zeros"))
        .then(digits.str.slice(2))
        .when(pl.col("plus"))
        .then(digits)
        .otherwise(pl.lit(country.calling_code) + pl.col("national")),
        national_ok=international | national_ok,
    )
    valid = pl.col("allowed") & pl.col("national_ok") & pl.col("e164").str.contains(E164_PATTERN)
    return frame.select(pl.when(valid).then(pl.col("e164"))).to_series().alias(text.name)
