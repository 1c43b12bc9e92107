"""Email addresses: trimmed and lower-cased; validity is a schema rule."""

import polars as pl

# Practical address syntax: a dot-atom local part, a domain of DNS labels and an alphabetic
# top-level domain. Quoted local parts and IP-literal domains are valid in RFC 5322 but not
# accepted by mailbox providers or by Listrak's import, so they are rejected.
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def normalise_email(text: pl.Series) -> pl.Series:
    """Lower-case clean text, without a `mailto:` prefix or angle brackets."""
    return text.str.to_lowercase().str.strip_prefix("mailto:").str.strip_chars("<> ")
