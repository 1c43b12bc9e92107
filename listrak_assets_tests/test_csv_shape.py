"""The cheap shape checks against the precise scan: on any text of quotes, doubled quotes,
delimiters and line ends, in and out of quoted values, they find what `field_counts` and a
byte-by-byte reading find. The checks work on slices of the file, so slices of a few bytes
put quotes, CRs and their LFs on every side of a slice's edge."""

from __future__ import annotations

import re
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from listrak_assets.inbox import csv_shape
from listrak_assets.inbox.csv_shape import (
    Counts,
    counts,
    delimiters_outside_quotes,
    field_counts,
    first_ragged,
    unclosed_quote,
    with_lf_endings,
)

# Pieces of CSV text: what changes a record's shape, and plain text between.
_PIECES = [
    b"a",
    b"bc",
    b",",
    b";",
    b'"',
    b'""',
    b"\r",
    b"\n",
    b"\r\n",
    b'","',
    b'"\r\n"',
    b"\xc3\xa9",
]
TEXTS = st.lists(st.sampled_from(_PIECES), max_size=60).map(b"".join)
# Slices of 1 to 9 bytes, and the real size.
CHUNKS = st.one_of(st.integers(1, 9), st.just(csv_shape._CHUNK))
# Quoted stretches counted per value (0), by a running count (10**9), and as they come.
DENSITIES = st.sampled_from([0, 10**9, csv_shape._DENSE])


def _lf_endings_byte_by_byte(data: bytes) -> bytes:
    """A CR outside quotes and not before LF becomes LF: one byte at a time."""
    out, inside = bytearray(data), False
    for i, byte in enumerate(data):
        if byte == ord('"'):
            inside = not inside
        elif byte == ord("\r") and not inside and data[i + 1 : i + 2] != b"\n":
            out[i] = ord("\n")
    return bytes(out)


def _delimiters_paired(data: bytes, sep: bytes) -> int:
    """Delimiters not between a quote and the next one, pairing quotes from the start."""
    spans: list[bytes] = re.findall(rb'"[^"]*"', data)
    inside = sum(span.count(sep) for span in spans)
    return data.count(sep) - inside


@settings(max_examples=600, deadline=None)
@given(TEXTS, CHUNKS)
def test_lone_crs_become_lf_exactly_where_a_byte_by_byte_reading_says(
    data: bytes, chunk: int
) -> None:
    with mock.patch.object(csv_shape, "_CHUNK", chunk):
        assert with_lf_endings(data) == _lf_endings_byte_by_byte(data)


@settings(max_examples=600, deadline=None)
@given(TEXTS, CHUNKS)
def test_an_unclosed_quote_is_found_exactly_when_quotes_are_odd(data: bytes, chunk: int) -> None:
    with mock.patch.object(csv_shape, "_CHUNK", chunk):
        line = unclosed_quote(data)
    if data.count(b'"') % 2 == 0:
        assert line is None
    else:
        last = data.rfind(b'"')
        assert line == data[:last].count(b"\n") + 1


@settings(max_examples=1500, deadline=None)
@given(TEXTS, st.sampled_from([",", ";", '"', ',"']), CHUNKS, DENSITIES)
def test_the_delimiter_count_is_the_precise_scans(
    text: bytes, delimiter: str, chunk: int, dense: int
) -> None:
    """With quotes closed (what the reader asks), the count is the sum of every record's
    delimiters in `field_counts`; so when it equals records x (width - 1) and all records
    have the header's width, `first_ragged` finds none."""
    data = with_lf_endings(text)
    with (
        mock.patch.object(csv_shape, "_CHUNK", chunk),
        mock.patch.object(csv_shape, "_DENSE", dense),
    ):
        count = delimiters_outside_quotes(data, delimiter)
        both = counts(data, delimiter)
    assert count == _delimiters_paired(data, delimiter.encode())
    assert both == Counts(quotes=data.count(b'"'), delimiters=count)
    if unclosed_quote(data) is not None or delimiter not in ",;":
        return
    fields, _ = field_counts(data, delimiter)
    assert count == int((fields - 1).sum())
    if len(fields) and first_ragged(data, delimiter) is None:
        assert count == len(fields) * (int(fields[0]) - 1)


def test_a_running_count_past_255_quotes_keeps_their_parity() -> None:
    """The running count of quotes is kept in a byte: 300 quoted values in one slice."""
    data = b"a,b\n" + b'"x,y",z\n' * 300 + b"1,2\n"
    with mock.patch.object(csv_shape, "_DENSE", 10**9):
        assert counts(data) == Counts(quotes=600, delimiters=302)
