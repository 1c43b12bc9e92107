"""Text: trimmed, no line breaks or control characters, empty means missing."""

import polars as pl

# Listrak's flat files must not carry CR/LF inside values; tabs and other control
# characters break the same importers.
_BREAKS = r"[\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+"


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Replace line breaks and control characters by a space, collapse runs of spaces, trim."""
    cleaned = expr.str.replace_all(_BREAKS, " ").str.replace_all(r" {2,}", " ").str.strip_chars()
    return pl.when(cleaned.str.len_bytes() > 0).then(cleaned)


def cut(expr: pl.Expr, max_len: int) -> pl.Expr:
    """Cut to at most `max_len` characters (not bytes), trimming a space left at the cut."""
    return expr.str.slice(0, max_len).str.strip_chars_end()
