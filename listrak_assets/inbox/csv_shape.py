"""The shape of a CSV file's bytes: line endings, unclosed quotes, records with the wrong
number of fields.

polars fills short rows with nulls without a word, so a truncated export would pass as
empty values; it also knows only LF and CRLF line endings, so a file saved with CR alone (old
Mac style) reads as one long header. These scans work with numpy over the raw bytes
(quote-aware), fast enough to run on every file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_QUOTE, _NEWLINE, _CR = ord('"'), ord("\n"), ord("\r")


@dataclass(frozen=True)
class RaggedRecord:
    record: int  # 0 is the header
    line: int  # 1-based physical line where the record starts
    fields: int
    expected: int


def _inside_quotes(arr: np.ndarray) -> np.ndarray:
    """True for each byte after an odd number of quote characters: inside a quoted value.
    Doubled quotes inside a quoted value flip twice, so they cancel out."""
    return (np.cumsum(arr == _QUOTE, dtype=np.uint8) & 1).astype(bool)


def with_lf_endings(data: bytes) -> bytes:
    """`data` with every CR that ends a line on its own turned into LF, so that CR-only and
    mixed line endings read like LF and CRLF. A CR inside a quoted value is part of the value
    and stays; CRLF stays (polars reads it)."""
    if data.count(b"\r") == data.count(b"\r\n"):
        return data
    arr = np.frombuffer(data, dtype=np.uint8)
    followed_by_lf = np.append(arr[1:] == _NEWLINE, False)
    lone = (arr == _CR) & ~followed_by_lf & ~_inside_quotes(arr)
    if not lone.any():
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


def field_counts(data: bytes, delimiter: str = ",") -> tuple[np.ndarray, np.ndarray]:
    """Fields per record and each record's start offset; blank lines are left out."""
    arr = np.frombuffer(data, dtype=np.uint8)
    # A delimiter or newline counts only outside quotes.
    inside = _inside_quotes(arr)
    ends = np.flatnonzero((arr == _NEWLINE) & ~inside)
    delims = np.flatnonzero((arr == ord(delimiter)) & ~inside)
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
