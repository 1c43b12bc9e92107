"""Turns a text file's bytes into UTF-8, or says what the file really is.

A CSV export reaches us in whatever its program wrote: UTF-8 with or without a byte order mark,
UTF-16 from Excel's "Unicode text", a legacy code page, or no text at all (a workbook saved
under a `.csv` name). A byte order mark says the encoding outright, so it is followed whatever
the `encoding` setting says. Without one, UTF-16 and UTF-32 are recognised by their zero bytes
and reported (the guess is left to the person who knows the file); any other zero byte means
binary data.

Latin-1 and Windows code pages can't be told from UTF-8 by their bytes alone: with the default
`encoding: utf-8`, a byte that is not valid UTF-8 fails the file naming its line and offset,
and `encoding: latin-1` (or `cp1252`, any Python codec) reads it. A Latin-1 file that happens
to be plain ASCII reads the same either way.
"""

from __future__ import annotations

import codecs

import numpy as np

from listrak_assets.inbox.errors import InputFileError

# Files that are not text at all, by their first bytes: what they are and what to do instead.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (
        b"PK\x03\x04",
        "is a ZIP archive (an Excel .xlsx workbook saved under a text name?), not CSV text; "
        "export the sheet as 'CSV UTF-8'",
    ),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "is an Excel 97-2003 workbook (.xls), not CSV text; export the sheet as 'CSV UTF-8'",
    ),
    (b"PAR1", "is a Parquet file, not CSV text; name it `.parquet`"),
    (b"\x1f\x8b", "is gzip-compressed; decompress it into the inbox"),
)

# Longest first: the UTF-32 little-endian mark starts with the UTF-16 one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SAMPLE = 4096  # bytes looked at to recognise UTF-16 or UTF-32 without a byte order mark


def _codec(encoding: str) -> str:
    """A codec's canonical name (`UTF8`, `utf_8` -> `utf-8`), or the name as given."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def wide_encoding(data: bytes) -> str | None:
    """`utf-16-le`, `utf-16-be`, `utf-32-le` or `utf-32-be` when the bytes look like mostly
    ASCII text in that encoding (its zero high bytes), else None."""
    sample = np.frombuffer(data[: _SAMPLE - _SAMPLE % 4][: len(data) - len(data) % 4], np.uint8)
    if len(sample) < 4:
        return None
    zero = sample == 0
    lanes = [float(zero[i::4].mean()) for i in range(4)]
    if min(lanes[1:]) > 0.9 and lanes[0] < 0.1:
        return "utf-32-le"
    if min(lanes[:3]) > 0.9 and lanes[3] < 0.1:
        return "utf-32-be"
    even, odd = float(zero[0::2].mean()), float(zero[1::2].mean())
    if odd > 0.4 and even < 0.1:
        return "utf-16-le"
    if even > 0.4 and odd < 0.1:
        return "utf-16-be"
    return None


def _decoded(name: str, data: bytes, codec: str) -> bytes:
    """`data` decoded from `codec` and written as UTF-8, or an error naming the line."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as err:
        where = data[: err.start].decode(codec, errors="replace")
        raise InputFileError(
            name,
            f"can't be decoded as {codec} (offset {err.start}: {err.reason}); save the file "
            "as UTF-8, or set `encoding:` in listrak.yaml to the file's encoding",
            line=where.count("\n") + 1,
        ) from None
    except LookupError:
        raise InputFileError(
            name, f"unknown encoding {codec!r}; set `encoding:` in listrak.yaml to a codec name"
        ) from None
    return text.removeprefix("\ufeff").encode("utf-8")


def valid_utf8(name: str, data: bytes) -> bytes:
    """`data` when it is valid UTF-8, else an error naming the line of the first bad byte."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputFileError(
            name,
            f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); save the "
            "file as UTF-8, or set `encoding:` in listrak.yaml to the file's encoding "
            "(latin-1, cp1252, ...)",
            line=_line(data, err.start),
        ) from None
    return data


def to_utf8(name: str, data: bytes, encoding: str = "utf-8", *, validate: bool = True) -> bytes:
    """The file's text as UTF-8 bytes without a byte order mark; `name` is for messages.
    Bytes that are meant to be UTF-8 already are checked only with `validate` (polars checks
    them as it reads, for free; `valid_utf8` then names the line)."""
    for signature, problem in _SIGNATURES:
        if data.startswith(signature):
            raise InputFileError(name, problem, line=1)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8":
                data = data[len(bom) :]
                return valid_utf8(name, data) if validate else data
            return _decoded(name, data, codec)
    codec = _codec(encoding)
    wide = codec.startswith(("utf-16", "utf-32"))
    nul = data.find(b"\x00")
    if nul >= 0 and not wide:
        guess = wide_encoding(data)
        if guess is not None:
            raise InputFileError(
                name,
                f"not UTF-8 (looks like {guess.upper()} without a byte order mark); save it as "
                f"UTF-8, or set `encoding: {guess}` in listrak.yaml",
            )
        raise InputFileError(
            name,
            f"has a zero byte at offset {nul}: binary data, not CSV text",
            line=_line(data, nul),
        )
    if codec in ("utf-8", "utf-8-sig"):
        decoded = valid_utf8(name, data) if validate else data
    else:
        decoded = _decoded(name, data, codec)
    # Bytes that were UTF-8 already were searched above.
    nul = decoded.find(b"\x00") if decoded is not data else -1
    if nul >= 0:
        raise InputFileError(
            name,
            f"has a zero character after decoding as {codec}: binary data, or not {codec}",
            line=_line(decoded, nul),
        )
    return decoded
