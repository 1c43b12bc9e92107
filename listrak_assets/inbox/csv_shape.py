"""The shape of a CSV file's bytes: line endings, unclosed quotes, records with the wrong
number of fields.

polars fills short rows with nulls without a word, so a truncated export would pass as
empty values; it also knows only LF and CRLF line endings, so a file saved with CR alone (old
Mac style) reads as one long header. The cheap checks (counts of quotes, CRs and
delimiters) run on every file; the precise scan that names the line of a ragged record runs
only when they, or polars, find something wrong. Both are quote-aware and work with numpy on the
positions of quotes, delimiters and line ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_QUOTE, _NEWLINE, _CR = ord('"'), ord("\n"), ord("\r")
_QUOTED = re.compile(rb'"[^"]*"')  # one quoted value; a doubled quote splits it in two


@dataclass(frozen=True)
class RaggedRecord:
    record: int  # 0 is the header
    line: int  # 1-based physical line where the record starts
    fields: int
    expected: int


def _outside_quotes(positions: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """For each position of a byte that is not a quote: True when an even number of quote
    characters comes before it, so it is outside any quoted value. Doubled quotes inside a
    quoted value count twice and cancel out. Works on positions only, so a file costs what its
    quotes, delimiters and line ends cost, not what all its bytes do."""
    before = np.searchsorted(quotes, positions)
    outside: np.ndarray = (before & 1) == 0
    return outside


def _positions(arr: np.ndarray, byte: int) -> np.ndarray:
    return np.flatnonzero(arr == byte)


def with_lf_endings(data: bytes) -> bytes:
    """`data` with every CR that ends a line on its own turned into LF, so that CR-only and
    mixed line endings read like LF and CRLF. A CR inside a quoted value is part of the value
    and stays; CRLF stays (polars reads it)."""
    count = data.count(b"\r")  # most files have none: then one pass of memchr, not two
    if count == 0 or count == data.count(b"\r\n"):
        return data
    arr = np.frombuffer(data, dtype=np.uint8)
    crs = _positions(arr, _CR)
    after = np.minimum(crs + 1, len(arr) - 1)
    lone = crs[(crs + 1 == len(arr)) | (arr[after] != _NEWLINE)]
    lone = lone[_outside_quotes(lone, _positions(arr, _QUOTE))]
    if len(lone) == 0:
        return data
    out = arr.copy()
    out[lone] = _NEWLINE
    return out.tobytes()


def unclosed_quote(data: bytes) -> int | None:
    """The 1-based line of a quote that opens a value and never closes it, or None. Quotes
    pair up in order, so with an odd number of them the last one is the unpaired opener."""
    if data.count(b'"') % 2 == 0:
        return None
    return data.count(b"\n", 0, data.rfind(b'"')) + 1


def delimiters_outside_quotes(data: bytes, delimiter: str = ",") -> int:
    """How many delimiters separate fields: the cheap check of a file's shape. A file whose
    records all have the header's width has (records x (width - 1)) of them. Counts all, then
    takes away those inside quoted values (quotes pair up in order; call it only when
    `unclosed_quote` found none)."""
    sep = delimiter.encode()
    inside = sum(span.group().count(sep) for span in _QUOTED.finditer(data))
    return data.count(sep) - inside


def field_counts(data: bytes, delimiter: str = ",") -> tuple[np.ndarray, np.ndarray]:
    """Fields per record and each record's start offset; blank lines are left out."""
    arr = np.frombuffer(data, dtype=np.uint8)
    quotes = _positions(arr, _QUOTE)
    # A delimiter or newline counts only outside quotes.
    newlines = _positions(arr, _NEWLINE)
    ends = newlines[_outside_quotes(newlines, quotes)]
    delims = _positions(arr, ord(delimiter))
    delims = delims[_outside_quotes(delims, quotes)]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(arr)]))
    counts = np.diff(np.searchsorted(delims, np.concatenate((starts, [len(arr)])))) + 1
    # A record is blank when it holds nothing but an optional carriage return.
    length = stops - starts
    last = arr[np.maximum(stops - 1, 0)] if len(arr) else np.zeros(0, dtype=np.uint8)
    blank = (length == 0) | ((length == 1) & (last == _CR))
    return counts[~blank], starts[~blank]


def first_ragged(data: bytes, delimiter: str = ",") -> RaggedRecord | None:
    """The first record whose field count differs from the header's, or None."""
    counts, starts = field_counts(data, delimiter)
    if len(counts) == 0:
        return None
    bad = np.flatnonzero(counts != counts[0])
    if len(bad) == 0:
        return None
    i = int(bad[0])
    line = data.count(b"\n", 0, int(starts[i])) + 1
    return RaggedRecord(record=i, line=line, fields=int(counts[i]), expected=int(counts[0]))
