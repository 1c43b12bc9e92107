"""Closed lists of values (gender, discount type, order status), matched without case."""

import polars as pl

from listrak_assets.cleaning.text import clean_text

_GENDER_WORDS = {
    "m": "M",
    "male": "M",
    "man": "M",
    "f": "F",
    "female": "F",
    "woman": "F",
    "n": "N",
    "neither": "N",
    "other": "N",
    "non-binary": "N",
    "nonbinary": "N",
    "x": "N",
}
# Listrak guesses the gender from the first name when it is blank.
_GENDER_UNKNOWN = ("u", "unknown", "na", "n/a", "prefer not to say")

_NULL_CHOICES = ("null", "none", "notset")


def normalise_gender(expr: pl.Expr) -> pl.Expr:
    """M/F/N from the common spellings; unknown means blank; anything else is kept as written
    so that the schema rejects it with the value shown."""
    word = clean_text(expr)
    low = word.str.to_lowercase()
    mapped = low.replace_strict(_GENDER_WORDS, default=None, return_dtype=pl.String)
    return pl.when(low.is_in(_GENDER_UNKNOWN)).then(None).otherwise(pl.coalesce(mapped, word))


def normalise_choice(expr: pl.Expr, choices: tuple[str, ...]) -> pl.Expr:
    """The canonical spelling of a listed value; `null`/`NotSet` means blank; unknown values
    are kept as written for the schema to reject."""
    word = clean_text(expr)
    low = word.str.to_lowercase()
    canonical = {c.lower(): c for c in choices}
    mapped = low.replace_strict(canonical, default=None, return_dtype=pl.String)
    return pl.when(low.is_in(_NULL_CHOICES)).then(None).otherwise(pl.coalesce(mapped, word))


def normalise_status(expr: pl.Expr, statuses: tuple[str, ...]) -> pl.Expr:
    """Listrak's status number (0-11) from the number or the name; null when neither."""
    word = clean_text(expr).str.to_lowercase().str.replace("cancelled", "canceled")
    by_name = {name.lower(): i for i, name in enumerate(statuses)}
    by_number = {str(i): i for i in range(len(statuses))}
    return word.replace_strict({**by_name, **by_number}, default=None, return_dtype=pl.Int64)
