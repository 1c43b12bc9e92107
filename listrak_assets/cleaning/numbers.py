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
    per_distinct,
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
    cast: pl.Expr,
    rule: Callable[[pl.Expr], JudgedExpr],
    dtype: pl.DataType,
    scratch: str,
) -> JudgedExpr:
    """The value `cast` reads (null where the text is not in its plain shape), else the
    separator `rule`'s, which reads only the distinct texts the cast left."""
    fast = pl.col(scratch + "fast")
    left = pl.when(fast.is_null()).then(text)
    by_rule = per_distinct(left, lambda t: judged_on(t, rule).value, dtype)
    stages: tuple[Stage, ...] = (
        {scratch + "fast": cast},
        {scratch + "value": pl.coalesce(fast, by_rule)},
    )
    return judge_expr(text, pl.col(scratch + "value"), REASON, stages)


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
    digits = text.str.strip_chars_start("$ ")
    if separator != ".":
        digits = digits.str.replace(separator, ".", literal=True)
    fast = pl.when(text.str.contains(plain)).then(digits.cast(MONEY, strict=False))
    return _cast_or_rule(text, fast, lambda e: _decimal_by_rule(e, separator), MONEY, scratch)


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
    fast = pl.when(text.str.contains(plain)).then(text.cast(pl.Int64, strict=False))
    return _cast_or_rule(text, fast, lambda e: _integer_by_rule(e, separator), pl.Int64(), scratch)


def normalise_decimal(text: pl.Series, separator: DecimalSeparator = ".") -> Judged:
    """`decimal_expr` over one series."""
    return judged_on(text, lambda t: decimal_expr(t, separator))


def normalise_integer(text: pl.Series, separator: DecimalSeparator = ".") -> Judged:
    """`integer_expr` over one series."""
    return judged_on(text, lambda t: integer_expr(t, separator))
