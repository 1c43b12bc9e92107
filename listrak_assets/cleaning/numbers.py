"""Numbers: currency amounts and counts as exports write them, read without guessing.

One character is the decimal separator (the `decimal_separator` setting, `.` by default);
the other may appear only between groups of three digits (`1,234.56`, or `1.234,56` under
`,`). Anything else, such as `1.234,56` under `.` or `12,50`, is rejected rather than read
another way. Amounts are rounded half away from zero to cents on the digits as written (the
third decimal digit decides), never through binary floating point, and kept as
`Decimal(18, 2)`; polars' own `round` rounds half to even, which is not what a till does.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from listrak_assets.cleaning.judged import (
    Judged,
    JudgedExpr,
    Stage,
    judge_expr,
    judged_on,
    on_distinct,
)
from listrak_assets.formats import DecimalSeparator

MONEY = pl.Decimal(18, 2)
REASON = "invalid_number"

# Currency symbols and codes carry no value for Listrak (amounts are in the account's
# currency); they are dropped wherever they stand.
_CURRENCY = r"(?i)[$€£¥]|\b(?:usd|eur|gbp|cad|aud)\b"
_MAX_WHOLE_DIGITS = 16  # Decimal(18, 2)
_MAX_INTEGER_DIGITS = 18  # Int64


def _parts(
    text: pl.Expr, separator: DecimalSeparator, scratch: str
) -> tuple[pl.Expr, pl.Expr, pl.Expr, list[Stage]]:
    """Sign, whole digits (grouping removed) and decimal digits; nulls where the text is not
    a number by the separator rule. Computed in the returned stages."""
    group = "," if separator == "." else "."
    g, d = "\\" + group, "\\" + separator
    pattern = rf"^([+-]?)(\d{{1,3}}(?:{g}\d{{3}})+|\d*)(?:{d}(\d*))?$"
    bare = text.str.replace_all(_CURRENCY, "").str.strip_chars()
    first: Stage = {scratch + "found": bare.str.extract_groups(pattern)}
    found = pl.col(scratch + "found").struct
    whole = found.field("2").str.replace_all(g, "")
    fraction = found.field("3").fill_null("")
    has_digits = (whole.str.len_bytes() + fraction.str.len_bytes()) > 0
    second: Stage = {
        scratch + "negative": found.field("1") == "-",
        scratch + "whole": pl.when(has_digits).then(whole.str.strip_chars_start("0")),
        scratch + "fraction": fraction,
    }
    negative, whole, fraction = (pl.col(scratch + n) for n in ("negative", "whole", "fraction"))
    return negative, whole, fraction, [first, second]


def _cast_or_rule(
    text: pl.Expr,
    cast: Callable[[pl.Expr], pl.Expr],
    rule: Callable[[pl.Expr], JudgedExpr],
    dtype: pl.DataType,
    scratch: str,
) -> JudgedExpr:
    """The value `cast` reads (null where the text is not in its plain shape), else the
    separator `rule`'s, which reads only the distinct texts the cast left, taken out of the
    column (masked to null, every row would still pass through the lookup). A batch of
    mostly repeated texts (prices, counts) is read a distinct text at a time instead."""

    def both(texts: pl.Series) -> pl.Series:
        value = texts.to_frame("_").select(cast(pl.col("_"))).to_series()
        left = value.is_null() & texts.is_not_null()
        if not left.any():
            return value.alias(texts.name)
        by_rule = on_distinct(texts.filter(left), lambda t: judged_on(t, rule).value, dtype)
        return value.scatter(left.arg_true(), by_rule).alias(texts.name)

    def read(column: pl.Series) -> pl.Series:
        if _mostly_repeats(column):
            return on_distinct(column, both, dtype)
        return both(column)

    value = text.map_batches(read, return_dtype=dtype, is_elementwise=True)
    return judge_expr(text, pl.col(scratch + "value"), REASON, ({scratch + "value": value},))


# Looking a text up costs more the more distinct texts a batch has: at order totals' 35,000
# to 43,000 in 126,000 rows casting every row is cheaper, at prices' 3,000 or taxes' 12,000
# the lookup. A sample's share of distinct texts runs higher than its batch's.
_SAMPLE_EVERY = 16
_MOSTLY_REPEATS = 0.4  # the share of distinct texts in the sample below which to look up


def _mostly_repeats(column: pl.Series) -> bool:
    """Whether a sample of the batch has few distinct texts (at a sixteenth of the cost of
    counting them all)."""
    sample = column.gather_every(_SAMPLE_EVERY)
    return sample.n_unique() < _MOSTLY_REPEATS * sample.len()


def _decimal_by_rule(
    text: pl.Expr, separator: DecimalSeparator, scratch: str = "__rule__"
) -> JudgedExpr:
    """An amount by the separator rule alone (the general path)."""
    negative, whole, fraction, stages = _parts(text, separator, scratch)
    f3 = pl.concat_str(fraction, pl.lit("000")).str.slice(0, 3)
    stages.append(
        {
            scratch + "cents": pl.when(whole.str.len_bytes() <= _MAX_WHOLE_DIGITS).then(
                whole.replace("", "0").cast(pl.Int64, strict=False) * 100
                + f3.str.slice(0, 2).cast(pl.Int64)
                + (f3.str.slice(2, 1) >= "5").cast(pl.Int64)
            )
        }
    )
    cents = pl.col(scratch + "cents")
    value = pl.concat_str(
        pl.when(negative & (cents > 0)).then(pl.lit("-")).otherwise(pl.lit("")),
        (cents // 100).cast(pl.String),
        pl.lit("."),
        (cents % 100).cast(pl.String).str.zfill(2),
    ).cast(MONEY)
    return judge_expr(text, value, REASON, tuple(stages))


def decimal_expr(
    text: pl.Expr, separator: DecimalSeparator = ".", *, scratch: str = "__decimal__"
) -> JudgedExpr:
    """An amount in cents as `Decimal(18, 2)`, rounded half away from zero. Intermediate
    columns are named with the `scratch` prefix."""
    # Most amounts are written `12.34` or `$12.34`: exactly cents, nothing to round, so a
    # cast reads them; the separator rule reads only the distinct texts that left.
    plain = rf"^(?:\$ ?)?\d{{1,{_MAX_WHOLE_DIGITS}}}\{separator}\d{{2}}$"

    def cast(texts: pl.Expr) -> pl.Expr:
        digits = texts.str.strip_chars_start("$ ")
        if separator != ".":
            digits = digits.str.replace(separator, ".", literal=True)
        return pl.when(texts.str.contains(plain)).then(digits.cast(MONEY, strict=False))

    return _cast_or_rule(text, cast, lambda e: _decimal_by_rule(e, separator), MONEY, scratch)


def _integer_by_rule(
    text: pl.Expr, separator: DecimalSeparator, scratch: str = "__rule__"
) -> JudgedExpr:
    """A whole number by the separator rule alone (the general path)."""
    negative, whole, fraction, stages = _parts(text, separator, scratch)
    value = pl.when(
        fraction.str.contains("^0*$") & (whole.str.len_bytes() <= _MAX_INTEGER_DIGITS)
    ).then(
        pl.when(negative).then(-1).otherwise(1)
        * whole.replace("", "0").cast(pl.Int64, strict=False)
    )
    return judge_expr(text, value, REASON, tuple(stages))


def integer_expr(
    text: pl.Expr, separator: DecimalSeparator = ".", *, scratch: str = "__integer__"
) -> JudgedExpr:
    """A whole number (`45`, `1,200`, `45.0`); a fraction other than zeros is rejected.
    Intermediate columns are named with the `scratch` prefix."""
    # Most counts are plain digits: a cast reads them; the separator rule reads only the
    # distinct texts that left.
    plain = rf"^\d{{1,{_MAX_INTEGER_DIGITS}}}$"

    def cast(texts: pl.Expr) -> pl.Expr:
        return pl.when(texts.str.contains(plain)).then(texts.cast(pl.Int64, strict=False))

    return _cast_or_rule(text, cast, lambda e: _integer_by_rule(e, separator), pl.Int64(), scratch)


def normalise_decimal(text: pl.Series, separator: DecimalSeparator = ".") -> Judged:
    """`decimal_expr` over one series."""
    return judged_on(text, lambda t: decimal_expr(t, separator))


def normalise_integer(text: pl.Series, separator: DecimalSeparator = ".") -> Judged:
    """`integer_expr` over one series."""
    return judged_on(text, lambda t: integer_expr(t, separator))
