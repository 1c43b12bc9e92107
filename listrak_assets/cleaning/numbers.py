"""Numbers: currency amounts and counts as exports write them, read without guessing.

One character is the decimal separator (the `decimal_separator` setting, `.` by default);
the other may appear only between groups of three digits (`1,234.56`, or `1.234,56` under
`,`). Anything else, such as `1.234,56` under `.` or `12,50`, is rejected rather than read
another way. Amounts are rounded half away from zero to cents on the digits as written (the
third decimal digit decides), never through binary floating point, and kept as
`Decimal(18, 2)`; polars' own `round` rounds half to even, which is not what a till does.
"""

from __future__ import annotations

import polars as pl

from listrak_assets.cleaning.judged import Judged, judge
from listrak_assets.formats import DecimalSeparator

MONEY = pl.Decimal(18, 2)
REASON = "invalid_number"

# Currency symbols and codes carry no value for Listrak (amounts are in the account's
# currency); they are dropped wherever they stand.
_CURRENCY = r"(?i)[$€£¥]|\b(?:usd|eur|gbp|cad|aud)\b"
_MAX_WHOLE_DIGITS = 16  # Decimal(18, 2)
_MAX_INTEGER_DIGITS = 18  # Int64


def _parts(text: pl.Series, separator: DecimalSeparator) -> pl.DataFrame:
    """Sign, whole digits (grouping removed) and decimal digits; nulls where the text is not
    a number by the separator rule."""
    group = "," if separator == "." else "."
    g, d = "\\" + group, "\\" + separator
    pattern = rf"^([+-]?)(\d{{1,3}}(?:{g}\d{{3}})+|\d*)(?:{d}(\d*))?$"
    bare = text.str.replace_all(_CURRENCY, "").str.strip_chars()
    found = bare.str.extract_groups(pattern)
    whole = found.struct.field("2").str.replace_all(g, "")
    fraction = found.struct.field("3").fill_null("")
    has_digits = (whole.str.len_bytes() + fraction.str.len_bytes()) > 0
    return pl.DataFrame(
        {
            "negative": found.struct.field("1") == "-",
            "whole": pl.select(
                pl.when(has_digits).then(whole.str.strip_chars_start("0"))
            ).to_series(),
            "fraction": fraction,
        }
    )


def normalise_decimal(text: pl.Series, separator: DecimalSeparator = ".") -> Judged:
    """An amount in cents as `Decimal(18, 2)`, rounded half away from zero."""
    parts = _parts(text, separator).with_columns(
        pl.concat_str(pl.col("fraction"), pl.lit("000")).str.slice(0, 3).alias("f3")
    )
    cents = (
        pl.col("whole").replace("", "0").cast(pl.Int64, strict=False) * 100
        + pl.col("f3").str.slice(0, 2).cast(pl.Int64)
        + (pl.col("f3").str.slice(2, 1) >= "5").cast(pl.Int64)
    )
    value = parts.select(
        pl.when(pl.col("whole").str.len_bytes() <= _MAX_WHOLE_DIGITS).then(cents).alias("cents"),
        "negative",
    ).select(
        pl.concat_str(
            pl.when(pl.col("negative") & (pl.col("cents") > 0))
            .then(pl.lit("-"))
            .otherwise(pl.lit("")),
            (pl.col("cents") // 100).cast(pl.String),
            pl.lit("."),
            (pl.col("cents") % 100).cast(pl.String).str.zfill(2),
        ).cast(MONEY)
    )
    return judge(text, value.to_series(), REASON)


def normalise_integer(text: pl.Series, separator: DecimalSeparator = ".") -> Judged:
    """A whole number (`45`, `1,200`, `45.0`); a fraction other than zeros is rejected."""
    parts = _parts(text, separator)
    whole = parts.select(
        pl.when(
            pl.col("fraction").str.contains("^0*$")
            & (pl.col("whole").str.len_bytes() <= _MAX_INTEGER_DIGITS)
        ).then(
            pl.when(pl.col("negative")).then(-1).otherwise(1)
            * pl.col("whole").replace("", "0").cast(pl.Int64, strict=False)
        )
    ).to_series()
    return judge(text, whole, REASON)
