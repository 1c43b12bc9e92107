"""Email addresses: trimmed and lower-cased; validity is a schema rule (`formats.EMAIL_PATTERN`)."""

import polars as pl


def normalise_email(text: pl.Series) -> pl.Series:
    """Lower-case clean text, without a `mailto:` prefix or angle brackets."""
    return text.str.to_lowercase().str.strip_prefix("mailto:").str.strip_chars("<> ")
