"""Free text: trimmed, no line breaks or control characters, blank is missing; with Python's
`re` and the Unicode White_Space list as the oracle on generated text."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from listrak_assets.cleaning.text import clean_text

# Unicode's White_Space property (what `strip_chars` trims; Python's `str.strip` also trims
# \x1c-\x1f, which are not white space there).
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _expected(text: str | None) -> str | None:
    if text is None:
        return None
    out = re.sub(r"[\x00-\x1f\x7f]+", " ", text.strip(WHITE_SPACE))
    out = re.sub(r" {2,}", " ", out).strip(WHITE_SPACE)
    return out or None


_PIECES = st.sampled_from(["a", "Zoë", " ", "  ", "\t", "\r\n", "\x00", "\x1f", "\x7f", "\xa0"])


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.none() | st.lists(_PIECES, max_size=6).map("".join) | st.text(max_size=12),
        max_size=12,
    )
)
def test_text_is_cleaned_as_the_rules_say(texts: list[str | None]) -> None:
    assert clean_text(pl.Series("t", texts, dtype=pl.String)).to_list() == [
        _expected(t) for t in texts
    ]


def test_real_world_text() -> None:
    texts = ["  Main St.\r\n Apt 4 ", "O'Neil", "", "   ", "\xa0Zoë\xa0", "a  b", None, "ok"]
    assert clean_text(pl.Series("t", texts, dtype=pl.String)).to_list() == [
        "Main St. Apt 4",
        "O'Neil",
        None,
        None,
        "Zoë",
        "a b",
        None,
        "ok",
    ]
