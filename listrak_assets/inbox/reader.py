"""Reads one table's input files as text, with the source file and row kept on every row.

The bytes become UTF-8 text (`encoding`), CR-only line endings become LF, and the shape is
checked (`csv_shape`) before polars reads a record; the header row is matched to the table's
columns by `headers`. Columns that match nothing are kept for audiences (they are profile
attributes) and listed as ignored for the commerce tables. Every failure is an
`InputFileError` naming the file and, where known, the line and column.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import polars as pl

from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW
from listrak_assets.inbox.csv_shape import (
    counts,
    first_ragged,
    last_quote_line,
    with_lf_endings,
)
from listrak_assets.inbox.encoding import to_utf8, valid_utf8
from listrak_assets.inbox.errors import InputFileError, library_problem
from listrak_assets.inbox.headers import header_label, match_columns
from listrak_assets.schemas.spec import TableSpec

if TYPE_CHECKING:
    from upath import UPath

SUFFIXES = (".csv", ".txt", ".parquet")
# A local folder (the inbox) or one at a URL (an archived day, `archive.py`).
_Folder = TypeVar("_Folder", bound="Path | UPath")


@dataclass(frozen=True)
class RawFile:
    """What was read from one file."""

    name: str
    rows: int
    bytes: int
    columns: dict[str, str]  # source header -> column name in the raw table
    ignored: list[str] = field(default_factory=list)  # headers as written


@dataclass(frozen=True)
class RawTable:
    frame: pl.DataFrame
    files: list[RawFile]


def find_files(inbox: _Folder, table: str) -> list[_Folder]:
    """Files for `table`: names starting with the table name (`customers.csv`,
    `customers_2026-11-01.parquet`), in name order so that later exports win ties."""
    if not inbox.is_dir():
        return []
    entries = cast("list[_Folder]", sorted(inbox.iterdir()))
    return [
        path
        for path in entries
        if path.name.lower().endswith(SUFFIXES)
        and path.name.lower().startswith(table)
        # `customers.csv` and `customers_2026-11-01.csv`, but not `customersfoo.csv`.
        and path.name[len(table) : len(table) + 1] in (".", "_", "-", " ")
        # Last: the names decide most, and at a URL each look is a round trip.
        and path.is_file()
    ]


def _read_csv(path: Path, encoding: str, delimiter: str, restrict_pii: bool) -> pl.DataFrame:
    """The file's records as text, the header row as the first record: polars reads the
    header like any other row (no renaming of duplicates), and `match_columns` judges it.
    polars reads first; the precise scans that name a line run only when polars fails or the
    delimiters don't add up."""
    data = to_utf8(path.name, path.read_bytes(), encoding, validate=False)
    data = with_lf_endings(data)
    if not data or data.isspace():
        raise InputFileError(path.name, "the file is empty; a header row is required", line=1)
    # Counted before polars reads: an unclosed quote fails the file whatever polars makes of it.
    shape = counts(data, delimiter)
    if shape.quotes % 2:
        raise InputFileError(
            path.name,
            'a quoted value starts here and never ends; close the quote, and double any " '
            'inside a quoted value ("")',
            line=last_quote_line(data),
        )
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            raise_if_empty=True,
        )
    except pl.exceptions.PolarsError as err:
        valid_utf8(path.name, data)
        _refuse_ragged(path, data, delimiter)
        raise InputFileError(
            path.name, f"not a readable CSV file: {library_problem(err, restrict_pii)}"
        ) from None
    # polars fills a short record with nulls without a word: every record of the header's
    # width has (width - 1) delimiters, so any other total means a ragged (or blank) line.
    if shape.delimiters != frame.height * (frame.width - 1):
        _refuse_ragged(path, data, delimiter)
    _require_rows(path, data, frame)
    return frame


def _refuse_ragged(path: Path, data: bytes, delimiter: str) -> None:
    ragged = first_ragged(data, delimiter)
    if ragged is not None:
        raise InputFileError(
            path.name,
            f"row has {ragged.fields} fields but the header has {ragged.expected}; check for an "
            "unquoted delimiter, an unclosed quote or a truncated line",
            line=ragged.line,
        )


def _require_rows(path: Path, data: bytes, frame: pl.DataFrame) -> None:
    """A file with lines after its header must yield rows: 0 rows from it means it was
    misread, never an empty table. A header-only file is a real empty table (the audience
    sinks' removal guard refuses to send one)."""
    if frame.height > 1:
        return
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) > 1:
        raise InputFileError(
            path.name,
            f"has {len(lines)} lines but no data row was read; check its line endings and quoting",
        )


def _read_parquet(path: Path, restrict_pii: bool) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as err:  # polars raises several kinds for a damaged file
        raise InputFileError(
            path.name, f"not a readable Parquet file: {library_problem(err, restrict_pii)}"
        ) from None
    columns = []
    for name, dtype in frame.schema.items():
        label = header_label(name, restrict_pii)
        if dtype.is_nested() or dtype == pl.Binary:
            raise InputFileError(
                path.name,
                f"has type {dtype}; expected plain values (text, numbers, dates): write it as "
                "a string column, or leave it out",
                column=label,
            )
        try:
            columns.append(frame.get_column(name).cast(pl.String))
        except pl.exceptions.PolarsError as err:
            raise InputFileError(
                path.name,
                f"type {dtype} can't be read as text: {library_problem(err, restrict_pii)}",
                column=label,
            ) from None
    return pl.DataFrame(columns)


def _headers_and_rows(
    path: Path, encoding: str, delimiter: str, restrict_pii: bool
) -> tuple[list[str | None], pl.DataFrame]:
    """A file's header names in order, and its rows under positional names."""
    if path.suffix.lower() == ".parquet":
        frame = _read_parquet(path, restrict_pii)
        return list(frame.columns), frame
    frame = _read_csv(path, encoding, delimiter, restrict_pii)
    return list(frame.row(0)), frame.slice(1)


def read_table(
    spec: TableSpec,
    paths: list[Path],
    *,
    mapping: dict[str, str] | None = None,
    updated_at: str = "updated_at",
    encoding: str = "utf-8",
    delimiter: str = ",",
    restrict_pii: bool = True,
) -> RawTable:
    """All of a table's files as one text frame with `_source_file` and `_source_row`
    (1 = the first data row; in a CSV file the header is line 1). With `restrict_pii`, no
    value from a file and no header that looks like one reaches an error message."""
    frames: list[pl.DataFrame] = []
    files: list[RawFile] = []
    for path in paths:
        headers, frame = _headers_and_rows(path, encoding, delimiter, restrict_pii)
        match = match_columns(path.name, headers, spec, mapping or {}, updated_at, restrict_pii)
        frame = frame.select([frame.to_series(i).alias(t) for i, t in match.chosen.items()])
        frame = frame.with_columns(
            pl.lit(path.name).alias(SOURCE_FILE),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
        )
        frames.append(frame)
        columns = {match.headers[i]: t for i, t in match.chosen.items()}
        files.append(RawFile(path.name, frame.height, path.stat().st_size, columns, match.ignored))
    if frames:
        combined = pl.concat(frames, how="diagonal")
    else:
        combined = pl.DataFrame(schema={SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64})
    first = [SOURCE_FILE, SOURCE_ROW]
    order = first + [c for c in combined.columns if c not in first]
    # Not `select`, which copies the table into one chunk while it holds the chunks too: the
    # raw step's peak (0.1 GB more in a run at 1M customers). The stored table's row groups
    # don't follow the chunks (`storage.row_group_rows`).
    return RawTable(pl.DataFrame([combined.get_column(c) for c in order]), files)
