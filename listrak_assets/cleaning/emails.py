"""Email addresses in one form for Listrak: lower-case, the domain in ASCII (punycode).

The `email-validator` library is the judge (syntax only: no DNS lookups; local parts over
64 characters and quoted local parts are refused). A vectorised path decides ASCII text: it
accepts only what the library accepts, in the form it gives, and refuses text that cannot
be in Listrak's form; anything else goes to the library, once per distinct text. A local
part with non-ASCII characters is valid in modern mail (SMTPUTF8) but not in Listrak's
lower-case ASCII form, so it is rejected with its own reason.

A table's email column is judged from its text as written (`written_email`): most addresses
are already in Listrak's form, and one regex decides those without cleaning their text first.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import email_validator
import polars as pl

from listrak_assets.cleaning.judged import Judged, repeated
from listrak_assets.cleaning.text import clean_text
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


# Where an address that matches Listrak's pattern still needs the library: `--` in the domain
# (IDNA rules apply to punycode and reserved `ab--` labels) or a special-use name as the
# domain or its suffix. The pattern allows exactly one `@` and none in the domain.
_UNSURE = rf"--[^@]*$|[@.](?:{_SPECIAL})$"


_Trie = dict[str, "_Trie"]  # a name's next letter, "" where a name ends


def _none_of(names: list[str], shortest: int) -> str:
    """A regex for letters-only text of at least `shortest` letters that is none of `names`,
    spelled out through the names' common prefixes (the regex crate has no lookahead)."""
    trie: _Trie = {}
    for name in names:
        node = trie
        for letter in name:
            node = node.setdefault(letter, {})
        node[""] = {}

    def rest(node: _Trie, depth: int) -> str:
        # Here: the end (where no name ends and the text is long enough), a letter no name
        # goes on with and then any letters, or a letter some name goes on with, then onwards.
        nexts = sorted(k for k in node if k)
        others = "".join(c for c in string.ascii_lowercase if c not in nexts)
        tail = "[a-z]*" if depth + 1 >= shortest else f"[a-z]{{{shortest - depth - 1},}}"
        ways = [""] if "" not in node and depth >= shortest else []
        ways += [f"[{others}]{tail}", *(k + rest(node[k], depth + 1) for k in nexts)]
        return "(?:" + "|".join(ways) + ")"

    return rest(trie, 0)


_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
# Text the library gives back as it is but for case: ASCII (`-u`), nothing to strip, domain
# labels without `--`, a top-level domain of letters that is not special-use. In an address of
# at most `_SHORT` characters no local part is over 64 and no label over 63, so with this one
# regex and a length such text needs none of the other tests.
_PLAIN_SHAPE = (
    rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+"
    rf"{_none_of(email_validator.SPECIAL_USE_DOMAIN_NAMES, 2)}$"
)
_PLAIN = "(?i-u)" + _PLAIN_SHAPE
# Plain text already in lower case: Listrak's form itself, and its own clean text (no space,
# no control character, not empty), so text as written that matches it needs nothing else.
_PLAIN_LOWER = "(?-u)" + _PLAIN_SHAPE
_SHORT = 68


def fast_email(text: pl.Series) -> Judged:
    """The vectorised path, on text as written: Listrak's form where it certainly is what the
    library gives, `invalid_email` where the library certainly refuses it, null in both where
    only the library can say.

    Most addresses are plain (see `_PLAIN`): one regex and the lower case decide them, at
    half the cost of `checked_email`, which decides the rest (and the same for plain ones)."""
    return _where(_plain(text, _PLAIN), text.str.to_lowercase(), text, checked_email)


def _plain(text: pl.Series, pattern: str) -> pl.Series:
    """Where `text` matches a plain pattern (`_PLAIN` or `_PLAIN_LOWER`) and is short enough
    for it to stand for the other tests."""
    return (text.str.contains(pattern) & (text.str.len_bytes() <= _SHORT)).fill_null(False)


def _where(
    sure: pl.Series, value: pl.Series, text: pl.Series, rest: Callable[[pl.Series], Judged]
) -> Judged:
    """`value` (no reason) where `sure`; `rest` judges the other texts that are not null,
    taken out of the column and put back in place."""
    values = pl.select(pl.when(sure).then(value)).to_series().alias(text.name)
    reasons = repeated(None, text.len(), pl.String, text.name)
    left = (~sure & text.is_not_null()).arg_true()
    if left.is_empty():
        return Judged(values, reasons)
    found = rest(text.gather(left))
    return Judged(values.scatter(left, found.value), reasons.scatter(left, found.reason))


def checked_email(text: pl.Series) -> Judged:
    """`fast_email` with each test on its own: what it decides for text that is not plain, and
    the reference its plain path is held to.

    Only ASCII text is decided here. For it the library's address is the prepared text
    lower-cased or nothing (it changes no ASCII character but the case of the domain, and
    Listrak's form lower-cases the rest), so text whose lower case misses Listrak's pattern
    is invalid whatever the library would say about it as mail."""
    ascii_text = text.str.len_bytes() == text.str.len_chars()
    # `(?i)mailto:` matches ASCII case variants only, so on ASCII text this is `_prepared`.
    low = text.str.to_lowercase().str.strip_prefix("mailto:").str.strip_chars("<> ")
    listrak_form = low.str.contains(EMAIL_PATTERN)
    sure = (
        ascii_text
        & listrak_form
        # One `@` (the pattern's), so its position is the local part's length.
        & (low.str.find("@", literal=True) <= _LOCAL_MAX)
        & (low.str.len_bytes() <= _EMAIL_MAX)
        & ~low.str.contains(_UNSURE)
    ).fill_null(False)
    refused = (ascii_text & ~listrak_form).fill_null(False)
    return Judged(
        pl.select(pl.when(sure).then(low)).to_series().alias(text.name),
        pl.select(pl.when(refused).then(pl.lit(INVALID))).to_series().alias(text.name),
    )


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
    return _with_library(text, fast_email(text))


def _with_library(text: pl.Series, fast: Judged) -> Judged:
    """`fast` (the vectorised path's judgement of `text`) with the texts it left judged by
    the library."""
    left = (fast.value.is_null() & fast.reason.is_null() & text.is_not_null()).arg_true()
    if left.is_empty():
        return fast
    # The rest, judged by the library once per distinct text and put back in place.
    rest = pl.DataFrame({"text": _prepared(text.gather(left))})
    slow = rest.unique().select("text", pl.col("text").map_batches(_library).struct.unnest())
    found = rest.join(slow, on="text", how="left", maintain_order="left")
    return Judged(
        fast.value.scatter(left, found["value"]),
        fast.reason.scatter(left, found["reason"]),
    )


def written_email(text: pl.Series) -> Judged:
    """`normalise_email` of the clean text (`clean_text`) of `text` as written, at a fraction of
    their cost where most addresses are already in Listrak's form: one case-sensitive regex
    decides those (each is its own clean text and its own value), and the rest is judged by
    `_stripped_email`."""
    return _where(_plain(text, _PLAIN_LOWER), text, text, _stripped_email)


def _stripped_email(text: pl.Series) -> Judged:
    """`written_email` of text not in Listrak's form, most of it a plain address in another
    case or with spaces around it: stripped, such text is its own clean text, so the plain
    regex and the lower case decide it. Only the rest is cleaned (`clean_text`) and judged."""
    stripped = text.str.strip_chars()
    return _where(
        _plain(stripped, _PLAIN),
        stripped.str.to_lowercase(),
        text,
        _unplain_email,
    )


def _unplain_email(text: pl.Series) -> Judged:
    """`normalise_email` of the clean text, for text that is not plain once stripped (most
    of it not an address): `checked_email` decides what `fast_email` does without its plain
    regex, which would find next to nothing here."""
    clean = clean_text(text)
    return _with_library(clean, checked_email(clean))
