"""Text: trimmed, no line breaks or control characters, empty means missing.

The normalisers are polars expressions, so that a table's columns are cleaned in one lazy
plan: polars evaluates them together and computes a repeated sub-expression once. The
expensive fix runs on the rows that need it, taken out of the column (masking the others to
null would not spare them: polars' string kernels read a null row's bytes too).
"""

from collections.abc import Callable

import polars as pl

# Listrak's flat files must not carry CR/LF inside values; tabs and other control
# characters break the same importers.
_BREAKS = r"[\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+"
_NEEDS_WORK = r"[\x00-\x1f\x7f]| {2}"


def on_series(series: pl.Series, expr: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """An expression normaliser evaluated on one series (named as the series)."""
    return series.rename("_").to_frame().select(expr(pl.col("_"))).to_series().alias(series.name)


# What any of the steps below would change: white space at either end (Unicode, as
# `strip_chars` sees it), a control character, two spaces in a row, or nothing at all.
_ODD = r"^\s|\s$|[\x00-\x1f\x7f]| {2}|^$"


def clean_text_expr(text: pl.Expr) -> pl.Expr:
    """Replace line breaks and control characters by a space, collapse runs of spaces, trim;
    blank becomes null. Text none of that would change (most of it) is kept as it is, which
    costs a third of running the steps."""
    return text.cast(pl.String).map_batches(_cleaned, return_dtype=pl.String, is_elementwise=True)


def _cleaned(text: pl.Series) -> pl.Series:
    """The steps run on the texts that need them, taken out of the column: polars' string
    kernels work on a masked (null) row's bytes as on any other, so `when(odd).then(fixed)`
    ran every step on every row."""
    odd = text.str.contains(_ODD).fill_null(False)
    if not odd.any():
        return text
    fixed = text.filter(odd).to_frame("_").select(_fixed(pl.col("_"))).to_series()
    return text.scatter(odd.arg_true(), fixed)


def _fixed(text: pl.Expr) -> pl.Expr:
    """The steps themselves."""
    trimmed = text.str.strip_chars()
    needs = pl.when(trimmed.str.contains(_NEEDS_WORK)).then(trimmed)
    fixed = needs.str.replace_all(_BREAKS, " ").str.replace_all(r" {2,}", " ").str.strip_chars()
    out = pl.coalesce(fixed, trimmed)
    return pl.when(out.str.len_bytes() > 0).then(out)


def clean_text(series: pl.Series) -> pl.Series:
    """`clean_text_expr` over one series."""
    return on_series(series, clean_text_expr)


def cut_expr(text: pl.Expr, max_len: int) -> pl.Expr:
    """Cut to at most `max_len` characters (not bytes), trimming a space left at the cut."""
    long = pl.when(text.str.len_chars() > max_len).then(text)
    return pl.coalesce(long.str.slice(0, max_len).str.strip_chars_end(), text)


def cut(series: pl.Series, max_len: int) -> pl.Series:
    """`cut_expr` over one series."""
    return on_series(series, lambda text: cut_expr(text, max_len))
