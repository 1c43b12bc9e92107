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

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat

import numpy as np

_QUOTE, _NEWLINE, _CR = ord('"'), ord("\n"), ord("\r")


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


# Bytes compared at a time: numpy compares a slice at memory speed, and the mask of one slice
# is small, where a mask of the whole file would be as large as the file.
_CHUNK = 1 << 20
# A slice with more than one quote in this many bytes (a file that quotes every value) finds
# its quoted bytes from a running count of quotes, not with a `bytes.count` per quoted value.
_DENSE = 64


def _slices(arr: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(arr), _CHUNK):
        yield start, arr[start : start + _CHUNK]


def _count(arr: np.ndarray, byte: int) -> int:
    """How many times `byte` occurs: `bytes.count` compares one byte at a time, numpy many."""
    return sum(int(np.count_nonzero(part == byte)) for _, part in _slices(arr))


def _positions(arr: np.ndarray, byte: int) -> np.ndarray:
    """Where `byte` occurs, found a slice at a time: no mask the size of the file."""
    found = [np.flatnonzero(part == byte) + start for start, part in _slices(arr)]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.intp)


def _lone_crs(arr: np.ndarray) -> np.ndarray:
    """Positions of the CRs that are not followed by LF, quoted or not."""
    lone = []
    for start, part in _slices(arr):
        crs = np.flatnonzero(part == _CR) + start
        after = np.minimum(crs + 1, len(arr) - 1)
        lone.append(crs[(crs + 1 == len(arr)) | (arr[after] != _NEWLINE)])
    return np.concatenate(lone) if lone else np.zeros(0, dtype=np.intp)


def with_lf_endings(data: bytes) -> bytes:
    """`data` with every CR that ends a line on its own turned into LF, so that CR-only and
    mixed line endings read like LF and CRLF. A CR inside a quoted value is part of the value
    and stays; CRLF stays (polars reads it)."""
    if data.find(b"\r") < 0:  # most files have none: one memchr
        return data
    arr = np.frombuffer(data, dtype=np.uint8)
    lone = _lone_crs(arr)
    if len(lone) == 0:  # CRLF only: no quote is looked at
        return data
    lone = lone[_outside_quotes(lone, _positions(arr, _QUOTE))]
    if len(lone) == 0:
        return data
    out = arr.copy()
    out[lone] = _NEWLINE
    return out.tobytes()


def unclosed_quote(data: bytes) -> int | None:
    """The 1-based line of a quote that opens a value and never closes it, or None. Quotes
    pair up in order, so with an odd number of them the last one is the unpaired opener."""
    if _count(np.frombuffer(data, dtype=np.uint8), _QUOTE) % 2 == 0:
        return None
    return last_quote_line(data)


def last_quote_line(data: bytes) -> int:
    """The 1-based line of the file's last quote: the unpaired one when quotes are odd."""
    return data.count(b"\n", 0, data.rfind(b'"')) + 1


@dataclass(frozen=True)
class Counts:
    quotes: int
    delimiters: int  # outside quoted values: see `delimiters_outside_quotes`


def counts(data: bytes, delimiter: str = ",") -> Counts:
    """The quotes and the delimiters outside quoted values, in one pass over the file: what
    `unclosed_quote` and `delimiters_outside_quotes` count, each slice read once for both.
    A delimiter is inside when an odd number of quotes comes before it; with an odd number in
    all, the last quote pairs with none and what follows it is outside."""
    sep = delimiter.encode()
    if len(sep) != 1 or sep == b'"':
        return _counts_paired(data, sep)  # a delimiter no slice can split, and not a quote
    arr = np.frombuffer(data, dtype=np.uint8)
    total = inside = quoted = 0
    for start, part in _slices(arr):
        is_quote = part == _QUOTE
        found = np.flatnonzero(is_quote)
        is_sep = part == sep[0]
        total += int(np.count_nonzero(is_sep))
        opened = quoted % 2  # the slice starts inside a quoted value
        if len(found) * _DENSE > len(part):
            # Quotes up to each byte, modulo 256 (an even count stays even).
            before = np.cumsum(is_quote, dtype=np.uint8)
            before += opened
            inside += int(np.count_nonzero(is_sep & (before & 1).view(np.bool_)))
        else:
            # The quoted stretches of the slice, from an opening quote to its closing one.
            edges = found + start
            if opened:
                edges = np.concatenate(([start], edges))
            if len(edges) % 2:
                edges = np.append(edges, start + len(part))
            starts, stops = edges[0::2].tolist(), edges[1::2].tolist()
            # `bytes.count` between two offsets copies nothing.
            inside += sum(map(data.count, repeat(sep), starts, stops))
        quoted += len(found)
    if quoted % 2:
        inside -= data.count(sep, data.rfind(b'"'))
    return Counts(quotes=quoted, delimiters=total - inside)


def _counts_paired(data: bytes, sep: bytes) -> Counts:
    """`counts` for a delimiter of several bytes, or a quote: the delimiters in each quoted
    value, from its opening quote to its closing one included, taken from all of them."""
    arr = np.frombuffer(data, dtype=np.uint8)
    inside = quoted = 0
    unpaired = np.zeros(0, dtype=np.intp)  # a quote whose pair is in a later slice
    for start, part in _slices(arr):
        found = np.flatnonzero(part == _QUOTE) + start
        quoted += len(found)
        quotes = np.concatenate((unpaired, found))
        pairs = len(quotes) // 2
        unpaired = quotes[2 * pairs :]
        starts, stops = quotes[0 : 2 * pairs : 2].tolist(), (quotes[1 : 2 * pairs : 2] + 1).tolist()
        inside += sum(map(data.count, repeat(sep), starts, stops))
    return Counts(quotes=quoted, delimiters=data.count(sep) - inside)


def delimiters_outside_quotes(data: bytes, delimiter: str = ",") -> int:
    """How many delimiters separate fields: the cheap check of a file's shape. A file whose
    records all have the header's width has (records x (width - 1)) of them. Counts all, then
    takes away those inside quoted values (quotes pair up in order, the first with the second;
    call it only when `unclosed_quote` found none)."""
    return counts(data, delimiter).delimiters


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
