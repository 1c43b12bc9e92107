"""Amounts and counts: the separator rule, exact cents rounded half away from zero, and
Python's `decimal` as the oracle on generated amounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listrak_assets.cleaning.numbers import (
    MONEY,
    _mostly_repeats,
    normalise_decimal,
    normalise_integer,
)


def _money(texts: list[str | None], separator: str = ".") -> list:
    return normalise_decimal(pl.Series("p", texts, dtype=pl.String), separator).value.to_list()  # type: ignore[arg-type]


# (as written, decimal separator, expected or None for rejected)
CASES = [
    ("1,234.56", ".", Decimal("1234.56")),
    ("1.234,56", ",", Decimal("1234.56")),
    ("1.234,56", ".", None),  # never reinterpreted
    ("12,50", ".", None),  # a decimal comma under `.`: rejected, not 1250
    ("12,50", ",", Decimal("12.50")),
    ("1,23,456.00", ".", None),  # groups of three only
    ("1,234", ",", Decimal("1.23")),
    ("$1,299.00", ".", Decimal("1299.00")),
    ("€ 5,5", ",", Decimal("5.50")),
    ("0.125", ".", Decimal("0.13")),  # half away from zero, not half to even
    ("0.135", ".", Decimal("0.14")),
    ("2.675", ".", Decimal("2.68")),  # 2.67499999... as a float
    ("-0.125", ".", Decimal("-0.13")),
    ("-0.004", ".", Decimal("0.00")),  # no negative zero
    ("-0", ".", Decimal("0.00")),
    ("NaN", ".", None),
    ("Infinity", ".", None),
    ("-inf", ".", None),
    ("1e309", ".", None),
    ("1E3", ".", None),
    ("9999999999999999.99", ".", Decimal("9999999999999999.99")),
    ("99999999999999999", ".", None),  # beyond Decimal(18, 2)
    ("1 234.56", ".", None),
    ("12.99.x", ".", None),
]


@pytest.mark.parametrize(("text", "separator", "expected"), CASES)
def test_real_world_amounts(text: str, separator: str, expected: Decimal | None) -> None:
    assert _money([text], separator) == [expected]


def test_amounts_are_decimal_18_2_and_a_rejected_one_has_a_reason() -> None:
    judged = normalise_decimal(pl.Series(["1.5", "free", None]))
    assert judged.value.dtype == MONEY
    assert judged.reason.to_list() == [None, "invalid_number", None]


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("45", ".", 45),
        ("1,200", ".", 1200),
        ("1.200", ",", 1200),
        ("7.0", ".", 7),
        ("7,00", ",", 7),
        ("-2", ".", -2),  # a number; the schema rejects it where a minimum applies
        ("12.5", ".", None),
        ("1,5", ",", None),
        ("two", ".", None),
        ("99999999999999999999", ".", None),
    ],
)
def test_whole_numbers(text: str, separator: str, expected: int | None) -> None:
    judged = normalise_integer(pl.Series([text]), separator)  # type: ignore[arg-type]
    assert judged.value.to_list() == [expected]


# --- properties -----------------------------------------------------------------------------


def _written(amount: Decimal, separator: str, grouped: bool, currency: str) -> str:
    """`amount` as an export might write it."""
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    if grouped:
        whole = f"{int(whole):,}".replace(",", "\0")
    group = "," if separator == "." else "."
    whole = whole.replace("\0", group)
    text = sign + whole + (separator + fraction if fraction else "")
    return currency.format(text)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(
        min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False
    ),
    separator=st.sampled_from([".", ","]),
    grouped=st.booleans(),
    currency=st.sampled_from(["{}", "${}", "{} EUR", "€ {}", " {} "]),
)
def test_any_written_amount_is_the_exact_cents(
    amount: Decimal, separator: str, grouped: bool, currency: str
) -> None:
    text = _written(amount, separator, grouped, currency)
    expected = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if expected == 0:
        expected = abs(expected)
    [value] = _money([text], separator)
    assert value == expected, text
    # Stable: Listrak's form of the amount reads back as itself.
    assert _money([f"{value:f}"]) == [value]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.none() | st.text(max_size=30), max_size=10),
    separator=st.sampled_from([".", ","]),
)
def test_never_raises_and_every_missing_value_has_a_reason(
    texts: list[str | None], separator: str
) -> None:
    for normalise in (normalise_decimal, normalise_integer):
        judged = normalise(pl.Series("n", texts, dtype=pl.String), separator)  # type: ignore[arg-type]
        for text, value, reason in zip(texts, judged.value, judged.reason, strict=True):
            assert (reason is not None) == (text is not None and value is None)


def _judged(texts: list[str], separator: str, integer: bool) -> list[tuple]:
    series = pl.Series("p", texts, dtype=pl.String)
    read = normalise_integer if integer else normalise_decimal
    judged = read(series, separator)  # type: ignore[arg-type]
    return list(zip(judged.value.to_list(), judged.reason.to_list(), strict=True))


@settings(max_examples=300, deadline=None)
@given(
    whole=st.text("0123456789", min_size=1, max_size=20),
    cents=st.text("0123456789", min_size=2, max_size=2),
    prefix=st.sampled_from(["", "$", "$ "]),
    separator=st.sampled_from([".", ","]),
)
def test_plain_amounts_and_counts_read_as_the_separator_rule_does(
    whole: str, cents: str, prefix: str, separator: str
) -> None:
    """Amounts written as plain cents (`12.34`, `$12.34`) and counts written as plain digits
    are read by a cast; the same text with a currency code after it goes through the
    separator rule. Both give the same value and reason (too many digits included)."""
    amount = f"{prefix}{whole}{separator}{cents}"
    assert _judged([amount], separator, False) == _judged([f"{amount} USD"], separator, False)
    assert _judged([whole], separator, True) == _judged([f"{whole} USD"], separator, True)


_MIXED = st.sampled_from(
    [text for text, _, _ in CASES] + ["12.34", "$12.34", "45", "007", "7.0", "", "1,200", "free"]
)


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.none() | _MIXED | st.text("0123456789.,$- ", max_size=8), max_size=12),
    separator=st.sampled_from([".", ","]),
)
def test_a_column_reads_each_value_as_it_reads_it_alone(
    texts: list[str | None], separator: str
) -> None:
    """The separator rule reads the distinct texts the cast left and scatters them back:
    repeats, nulls and cast-read rows around them change nothing."""
    for integer in (False, True):
        column = _judged(texts, separator, integer)  # type: ignore[arg-type]
        alone = [_judged([t], separator, integer)[0] for t in texts]  # type: ignore[list-item]
        assert column == alone, texts


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.none() | _MIXED | st.text("0123456789.,$- ", max_size=8), min_size=1, max_size=12
    ),
    separator=st.sampled_from([".", ","]),
)
def test_a_column_of_repeated_values_reads_each_as_it_reads_it_alone(
    texts: list[str | None], separator: str
) -> None:
    """A batch of mostly repeated texts (prices, counts) is read a distinct text at a time
    rather than cast row by row: the same values and reasons, scattered to the right rows."""
    column = texts * 80
    assert _mostly_repeats(pl.Series(column, dtype=pl.String))
    for integer in (False, True):
        alone = [_judged([t], separator, integer)[0] for t in texts]  # type: ignore[list-item]
        assert _judged(column, separator, integer) == alone * 80, texts  # type: ignore[arg-type]


def test_a_column_of_distinct_values_is_cast_row_by_row() -> None:
    """The other way (that the repeated-values test covers the lookup, this one the cast)."""
    assert not _mostly_repeats(pl.Series([f"{i}.99" for i in range(100)]))


@pytest.mark.parametrize("texts", [[], [None], [None] * 40])
def test_an_empty_or_all_missing_column(texts: list[None]) -> None:
    for read, dtype in ((normalise_decimal, MONEY), (normalise_integer, pl.Int64())):
        judged = read(pl.Series("n", texts, dtype=pl.String))
        assert judged.value.dtype == dtype
        assert judged.value.to_list() == texts
        assert judged.reason.to_list() == texts
