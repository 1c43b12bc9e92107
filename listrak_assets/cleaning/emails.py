"""Email addresses: trimmed and lower-cased; validity is a schema rule."""

import polars as pl

from listrak_assets.cleaning.text import clean_text

# Practical address syntax: a dot-atom local part, a domain of DNS labels and an alphabetic
# top-level domain. Quoted local parts and IP-literal domains are valid in RFC 5322 but not
# accepted by mailbox providers or by Listrak's import, so they are rejected.
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def normalise_email(expr: pl.Expr) -> pl.Expr:
    """Trim, drop a `mailto:` prefix or angle brackets, lower-case."""
    text = clean_text(expr).str.to_lowercase()
    return text.str.strip_prefix("mailto:").str.strip_chars("<> ")
