"""Closed lists of values (gender, discount type, order status), matched without case."""

import polars as pl

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


def _canonical(text: pl.Series, words: dict[str, str], blank: tuple[str, ...]) -> pl.Series:
    """The canonical spelling; `blank` words become null; unknown values are kept as written
    so that the schema rejects them with the value shown."""
    low = text.str.to_lowercase()
    mapping = {**words, **dict.fromkeys(blank, None)}
    mapped = low.replace_strict(mapping, default=text, return_dtype=pl.String)
    return mapped


def normalise_gender(text: pl.Series) -> pl.Series:
    """M/F/N from the common spellings; unknown means blank."""
    return _canonical(text, _GENDER_WORDS, _GENDER_UNKNOWN)


def normalise_choice(text: pl.Series, choices: tuple[str, ...]) -> pl.Series:
    """One of `choices` whatever its case; `null`/`NotSet` means blank."""
    return _canonical(text, {c.lower(): c for c in choices}, _NULL_CHOICES)


def normalise_status(text: pl.Series, statuses: tuple[str, ...]) -> pl.Series:
    """Listrak's status number (0-11) from the number or the name; null when neither."""
    low = text.str.to_lowercase().str.replace("cancelled", "canceled", literal=True)
    by_name = {name.lower(): i for i, name in enumerate(statuses)}
    by_number = {str(i): i for i in range(len(statuses))}
    return low.replace_strict({**by_name, **by_number}, default=None, return_dtype=pl.Int64)
