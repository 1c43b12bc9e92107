"""Masks personal data wherever it can surface: rejects, previews, metadata, error messages.

One rule for every place: a personal value keeps its first character and the rest becomes
`***` (`j***`), enough to tell values apart while debugging, too little to identify anyone.
"""

from __future__ import annotations

import re

import polars as pl

HIDDEN = "***"

# An email address, or a run of digits as long as a phone number (E.164: 8 to 15 digits).
_EMAIL_IN_TEXT = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+")
_PHONE_IN_TEXT = re.compile(r"\d{8,15}")


def mask_value(value: str) -> str:
    """One personal value reduced to its first character."""
    return value[:1] + HIDDEN


def mask(expr: pl.Expr) -> pl.Expr:
    """A column of personal values, each masked (nulls stay null)."""
    text = expr.cast(pl.String)
    return pl.when(text.is_not_null()).then(text.str.slice(0, 1) + pl.lit(HIDDEN))


def mask_text(text: str) -> str:
    """Free text (an error message, a request path) with every email address and phone
    number in it masked; an address keeps `@***` so that a reader sees what was there."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_value(m.group()) + "@" + HIDDEN, text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_value(m.group()), text)
