"""Email addresses in one form for Listrak: lower-case, the domain in ASCII (punycode).

The `email-validator` library is the judge (syntax only: no DNS lookups; local parts over
64 characters and quoted local parts are refused). Common addresses take a vectorised path
that accepts only what the library accepts, in the form it gives; anything else goes to the
library, once per distinct text. A local part with non-ASCII characters is valid in modern
mail (SMTPUTF8) but not in Listrak's lower-case ASCII form, so it is rejected with its own
reason.
"""

from __future__ import annotations

import email_validator
import polars as pl

from listrak_assets.cleaning.judged import Judged
from listrak_assets.formats import EMAIL_PATTERN

INVALID = "invalid_email"
NON_ASCII = "non_ascii_email"

_LOCAL_MAX = 64  # RFC 5321, enforced by the library's strict mode
_EMAIL_MAX = 254  # the library's limit for a whole address
# Special-use names the library refuses as a domain or its suffix (RFC 6761 and others).
_SPECIAL = "|".join(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _prepared(text: pl.Series) -> pl.Series:
    """Without a `mailto:` prefix, angle brackets or surrounding spaces."""
    return text.str.replace(r"^(?i)mailto:", "").str.strip_chars("<> ")


def fast_email(text: pl.Series) -> pl.Series:
    """The vectorised path: the lower-case address where it certainly is what the library
    would give, null elsewhere (left to the library)."""
    low = text.str.to_lowercase()
    local = low.str.extract(r"^(.*)@", 1)
    domain = low.str.extract(r"@([^@]*)$", 1)
    sure = (
        low.str.contains(EMAIL_PATTERN)
        & (local.str.len_bytes() <= _LOCAL_MAX)
        & (low.str.len_bytes() <= _EMAIL_MAX)
        # IDNA rules apply to labels with `--` (punycode and reserved forms): the library's.
        & ~domain.str.contains("--", literal=True)
        & ~domain.str.contains(rf"(?:^|\.)(?:{_SPECIAL})$")
    ).fill_null(False)
    return pl.select(pl.when(sure).then(low)).to_series().alias(text.name)


def library_email(text: str) -> tuple[str | None, str | None]:
    """One address judged by the library: (Listrak's form, None) or (None, reason)."""
    try:
        found = email_validator.validate_email(text, check_deliverability=False, strict=True)
    except email_validator.EmailNotValidError:
        return None, INVALID
    if not found.local_part.isascii():
        return None, NON_ASCII
    address = f"{found.local_part}@{found.ascii_domain}".lower()
    if not pl.Series([address]).str.contains(EMAIL_PATTERN)[0]:
        return None, INVALID  # valid mail, but not a form Listrak takes (e.g. `a@b.c`)
    return address, None


def _library(texts: pl.Series) -> pl.Series:
    judged = [library_email(t) for t in texts]
    return pl.Series(
        texts.name,
        [{"value": v, "reason": r} for v, r in judged],
        dtype=pl.Struct({"value": pl.String, "reason": pl.String}),
    )


def normalise_email(text: pl.Series) -> Judged:
    """Listrak's form of each address; `invalid_email` or `non_ascii_email` where there is
    none."""
    prepared = _prepared(text)
    fast = fast_email(prepared)
    todo = prepared.filter(fast.is_null() & prepared.is_not_null()).unique()
    slow = pl.DataFrame({"text": todo}).select(
        "text", pl.col("text").map_batches(_library).struct.unnest()
    )
    joined = pl.DataFrame({"text": prepared, "fast": fast}).join(
        slow, on="text", how="left", maintain_order="left"
    )
    value = joined.select(pl.coalesce("fast", "value")).to_series().alias(text.name)
    reason = joined.select(
        pl.when(pl.col("fast").is_null() & pl.col("text").is_not_null()).then(pl.col("reason"))
    ).to_series()
    # Text that is blank once prepared (`<>`) is not an address at all.
    reason = pl.select(
        pl.when(text.is_not_null() & value.is_null()).then(reason.fill_null(INVALID))
    ).to_series()
    return Judged(value, reason.alias(text.name))
