"""Finds CSV records with the wrong number of fields.

polars fills short rows with nulls without a word, so a truncated export would pass as
empty values. This scan counts fields per record with numpy over the raw bytes (quote-aware),
fast enough to run on every file.
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


def field_counts(data: bytes, delimiter: str = ",") -> tuple[np.ndarray, np.ndarray]:
    """Fields per record and each record's start offset; blank lines are left out."""
    arr = np.frombuffer(data, dtype=np.uint8)
    # A delimiter or newline counts only outside quotes: an even number of quote characters
    # before it. Doubled quotes inside a quoted field flip twice, so they cancel out.
    inside = (np.cumsum(arr == _QUOTE, dtype=np.uint8) & 1).astype(bool)
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
