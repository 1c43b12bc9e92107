"""Closed lists (order status, discount type, gender) read a column as they read each value."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listrak_assets.cleaning.booleans import FALSE_WORDS, TRUE_WORDS, normalise_boolean
from listrak_assets.cleaning.choices import normalise_choice, normalise_status
from listrak_assets.schemas.spec import (
    DISCOUNT_TYPES,
    GENDER_SPELLINGS,
    GENDERS,
    NOT_SET,
    ORDER_STATUSES,
)

_STATUSES = [*ORDER_STATUSES, "CANCELLED", "Shipped", "3", "11", "12", "03", "x", ""]
_BOOLEANS = [*TRUE_WORDS, *FALSE_WORDS, "TRUE", "No", "Y", "maybe", "2"]
_CHOICES = [*DISCOUNT_TYPES, *GENDERS, *NOT_SET, *GENDER_SPELLINGS, "PERCENT", "male", "x"]


def _texts(values: list[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.none() | st.sampled_from(values) | st.text(max_size=6), max_size=12)


@settings(max_examples=150, deadline=None)
@given(texts=_texts(_STATUSES))
def test_a_column_of_statuses_reads_each_as_it_reads_it_alone(texts: list[str | None]) -> None:
    """Each distinct text is looked up once and scattered back: repeats, nulls and other
    values around it change nothing."""
    column = normalise_status(pl.Series("s", texts, dtype=pl.String), ORDER_STATUSES)
    alone = [
        normalise_status(pl.Series("s", [t], dtype=pl.String), ORDER_STATUSES)[0] for t in texts
    ]
    assert column.to_list() == alone


@settings(max_examples=150, deadline=None)
@given(texts=_texts(_CHOICES))
def test_a_column_of_choices_reads_each_as_it_reads_it_alone(texts: list[str | None]) -> None:
    """As statuses; an unknown value is kept as written, a blank spelling becomes null."""
    choices, spellings = (*DISCOUNT_TYPES, *GENDERS), {**NOT_SET, **GENDER_SPELLINGS}
    column = normalise_choice(pl.Series("c", texts, dtype=pl.String), choices, spellings)
    alone = [
        normalise_choice(pl.Series("c", [t], dtype=pl.String), choices, spellings)[0] for t in texts
    ]
    assert column.to_list() == alone


@settings(max_examples=150, deadline=None)
@given(texts=_texts(_BOOLEANS))
def test_a_column_of_booleans_reads_each_as_it_reads_it_alone(texts: list[str | None]) -> None:
    """As statuses: a flag's few spellings are each looked up once."""
    column = normalise_boolean(pl.Series("b", texts, dtype=pl.String))
    alone = [normalise_boolean(pl.Series("b", [t], dtype=pl.String))[0] for t in texts]
    assert column.to_list() == alone


@pytest.mark.parametrize("texts", [[], [None], [None] * 40])
def test_an_empty_or_all_missing_column_of_any_closed_list(texts: list[None]) -> None:
    """A batch with no text to look up gives nulls of the column's type."""
    column = pl.Series("c", texts, dtype=pl.String)
    for read, dtype in (
        (normalise_status(column, ORDER_STATUSES), pl.Int64()),
        (normalise_choice(column, GENDERS, GENDER_SPELLINGS), pl.String()),
        (normalise_boolean(column), pl.Boolean()),
    ):
        assert read.dtype == dtype
        assert read.to_list() == texts


def test_statuses_by_number_and_name() -> None:
    texts = ["3", "CANCELLED", None, "x", "3", ORDER_STATUSES[5].upper()]
    canceled = [s.lower() for s in ORDER_STATUSES].index("canceled")
    assert normalise_status(pl.Series("s", texts), ORDER_STATUSES).to_list() == [
        3,
        canceled,
        None,
        None,
        3,
        5,
    ]
