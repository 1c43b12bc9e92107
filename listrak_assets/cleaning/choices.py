"""Closed lists of values (gender, discount type, order status), matched without case."""

from collections.abc import Mapping

import polars as pl

from listrak_assets.cleaning.judged import per_distinct
from listrak_assets.cleaning.text import on_series

# A closed list's column holds a few tens of distinct texts: each is looked up once and the
# answer scattered back, at half the cost of lower-casing and looking up every row.


def choice_expr(
    text: pl.Expr, choices: tuple[str, ...], spellings: Mapping[str, str | None]
) -> pl.Expr:
    """One of `choices` whatever its case, or the choice another spelling means (None: blank).
    Unknown values are kept as written so that the schema rejects them with the value shown."""
    mapping = {**{c.lower(): c for c in choices}, **spellings}

    def look_up(s: pl.Series) -> pl.Series:
        return s.str.to_lowercase().replace_strict(mapping, default=s, return_dtype=pl.String)

    return per_distinct(text, look_up, pl.String())


def normalise_choice(
    text: pl.Series, choices: tuple[str, ...], spellings: Mapping[str, str | None]
) -> pl.Series:
    """`choice_expr` over one series."""
    return on_series(text, lambda t: choice_expr(t, choices, spellings))


def status_expr(text: pl.Expr, statuses: tuple[str, ...]) -> pl.Expr:
    """Listrak's status number (0-11) from the number or the name; null when neither."""
    by_name = {name.lower(): i for i, name in enumerate(statuses)}
    by_number = {str(i): i for i in range(len(statuses))}
    both = {**by_name, **by_number}

    def look_up(s: pl.Series) -> pl.Series:
        low = s.str.to_lowercase().str.replace("cancelled", "canceled", literal=True)
        return low.replace_strict(both, default=None, return_dtype=pl.Int64)

    return per_distinct(text, look_up, pl.Int64())


def normalise_status(text: pl.Series, statuses: tuple[str, ...]) -> pl.Series:
    """`status_expr` over one series."""
    return on_series(text, lambda t: status_expr(t, statuses))
