"""Text: trimmed, no line breaks or control characters, empty means missing.

The normalisers work on whole `pl.Series` one step at a time: each intermediate column is
computed once (polars does not share sub-expressions in eager mode, and a repeated regex over
a million rows costs a tenth of a second every time).
"""

from collections.abc import Callable

import polars as pl

# Listrak's flat files must not carry CR/LF inside values; tabs and other control
# characters break the same importers.
_BREAKS = r"[\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+"
_NEEDS_WORK = r"[\x00-\x1f\x7f]| {2}"


def where(mask: pl.Series, values: pl.Series) -> pl.Series:
    """`values` where `mask` is true, null elsewhere."""
    return pl.select(pl.when(mask).then(values)).to_series().alias(values.name)


def fix_some(
    series: pl.Series, needs: pl.Series, fix: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """Apply an expensive `fix` only to the rows that need it."""
    idx = needs.arg_true()
    if idx.len() == 0:
        return series
    return series.clone().scatter(idx, fix(series.gather(idx)))


def clean_text(series: pl.Series) -> pl.Series:
    """Replace line breaks and control characters by a space, collapse runs of spaces, trim;
    blank becomes null."""
    text = series.cast(pl.String).str.strip_chars()
    text = fix_some(
        text,
        text.str.contains(_NEEDS_WORK),
        lambda s: s.str.replace_all(_BREAKS, " ").str.replace_all(r" {2,}", " ").str.strip_chars(),
    )
    return where(text.str.len_bytes() > 0, text)


def cut(series: pl.Series, max_len: int) -> pl.Series:
    """Cut to at most `max_len` characters (not bytes), trimming a space left at the cut."""
    return fix_some(
        series,
        series.str.len_chars() > max_len,
        lambda s: s.str.slice(0, max_len).str.strip_chars_end(),
    )
