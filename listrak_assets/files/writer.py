"""Listrak flat files from clean tables.

Listrak's importer reads a header row, UTF-8, comma-delimited values with `"` as the text
qualifier, and no line breaks inside values (Listrak's File Import Guide). Values take
Listrak's formats: dates `YYYY-MM-DD`, timestamps ISO 8601 in UTC with `Z`, booleans
`true`/`false`, amounts with two decimals, empty for missing. Files are written to disk and
uploaded from there, so a large table never needs a second copy in memory as text.

With the formula guard on (`sftp.formula_guard`), a text value that a spreadsheet would run
as a formula (it starts with `=`, `+`, `-` or `@` once leading spaces are trimmed; OWASP's
CSV injection advice) gets a leading `'`, which spreadsheets read as "this is text". Only text
columns are guarded: phones are E.164 digits and numbers, dates, timestamps and booleans are
written in fixed formats that cannot start with those characters. Emails are exempt although
a valid address may start with `=`, `+` or `-`: the address is the customer's key in Listrak,
and `'` would make it another, undeliverable one.
"""

from __future__ import annotations

import gzip
import math
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from listrak_assets.file_names import Compression, compressed_name, part_name
from listrak_assets.schemas.spec import Kind, Overflow, TableSpec

# Clean text never holds line breaks; the writer still removes any, since a stray one would
# split a record in Listrak's importer.
_LINE_BREAKS = r"[\r\n]+"

_COPY_CHUNK = 1 << 20

# What a spreadsheet runs as a formula when a cell starts with it (after leading spaces).
_FORMULA_START = r"^\s*[=+\-@]"
# Column kinds holding free text; every other kind has a fixed form (see the docstring).
_GUARDED_KINDS = (Kind.TEXT, Kind.CHOICE)


@dataclass(frozen=True)
class FileOptions:
    """How a table becomes files: compression and the most rows per file (0: one file)."""

    compression: Compression = "none"
    split_rows: int = 0
    formula_guard: bool = False  # prefix `'` to text a spreadsheet would run as a formula


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def listrak_frame(
    frame: pl.DataFrame, spec: TableSpec, formula_guard: bool = False
) -> pl.DataFrame:
    """Listrak's columns in Listrak's order, timestamps in UTC, no line breaks in text; with
    `formula_guard`, text that starts like a formula is prefixed with `'`."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"the {spec.name} table has no column(s) {', '.join(missing)}")
    table = frame.select(spec.column_names).with_columns(
        pl.col(pl.String).str.replace_all(_LINE_BREAKS, " "),
        pl.col(pl.Datetime(time_zone="*")).dt.convert_time_zone("UTC"),
    )
    if not formula_guard:
        return table
    return table.with_columns(
        _guarded(pl.col(c.name), c.max_len if c.overflow is Overflow.CUT else None).alias(c.name)
        for c in spec.columns
        if c.kind in _GUARDED_KINDS and table.schema[c.name] == pl.String
    )


def _guarded(text: pl.Expr, max_len: int | None) -> pl.Expr:
    """`'` before text a spreadsheet would read as a formula. Free text already cut to its
    limit is cut again after the prefix, so the file stays within Listrak's limits."""
    prefixed = pl.concat_str(pl.lit("'"), text)
    if max_len is not None:
        prefixed = prefixed.str.slice(0, max_len)
    return pl.when(text.str.contains(_FORMULA_START)).then(prefixed).otherwise(text)


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """One CSV file in Listrak's format."""
    frame.write_csv(
        path,
        include_header=True,
        separator=",",
        quote_char='"',
        quote_style="necessary",
        line_terminator="\n",
        null_value="",
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%dT%H:%M:%SZ",
        float_precision=2,
        float_scientific=False,
    )


def _compress(csv: Path, compression: Compression) -> Path:
    """Replace `csv` by its compressed copy, streaming from disk."""
    if compression == "none":
        return csv
    target = csv.with_name(compressed_name(csv.name, compression))
    if compression == "gzip":
        # mtime=0: the same table gives the same bytes, whatever the day it is written.
        with (
            csv.open("rb") as source,
            target.open("wb") as raw,
            gzip.GzipFile(filename=csv.name, mode="wb", fileobj=raw, mtime=0) as out,
        ):
            shutil.copyfileobj(source, out, _COPY_CHUNK)
    else:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(csv, arcname=csv.name)
    csv.unlink()
    return target


def write_files(
    frame: pl.DataFrame, spec: TableSpec, name: str, folder: Path, options: FileOptions
) -> list[WrittenFile]:
    """The files for one table in `folder`: one, or one per `split_rows` rows, each with its
    header row, compressed as asked."""
    table = listrak_frame(frame, spec, options.formula_guard)
    per_file = options.split_rows if options.split_rows > 0 else max(table.height, 1)
    parts = max(1, math.ceil(table.height / per_file))
    written = []
    for index in range(parts):
        chunk = table.slice(index * per_file, per_file)
        csv = folder / (part_name(name, index + 1, parts) if parts > 1 else name)
        write_csv(chunk, csv)
        written.append(WrittenFile(_compress(csv, options.compression), chunk.height))
    return written
