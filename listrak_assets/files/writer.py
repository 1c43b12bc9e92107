"""Listrak flat files from clean tables.

Listrak's importer reads a header row, UTF-8, comma-delimited values with `"` as the text
qualifier, and no line breaks inside values (Listrak's File Import Guide). Values take
Listrak's formats: dates `YYYY-MM-DD`, timestamps ISO 8601 in UTC with `Z`, booleans
`true`/`false`, amounts with two decimals, empty for missing. Files are written to disk and
uploaded from there, so a large table never needs a second copy in memory as text.
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
from listrak_assets.schemas.spec import TableSpec

# Clean text never holds line breaks; the writer still removes any, since a stray one would
# split a record in Listrak's importer.
_LINE_BREAKS = r"[\r\n]+"

_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileOptions:
    """How a table becomes files: compression and the most rows per file (0: one file)."""

    compression: Compression = "none"
    split_rows: int = 0


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


def listrak_frame(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """Listrak's columns in Listrak's order, timestamps in UTC, no line breaks in text."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"the {spec.name} table has no column(s) {', '.join(missing)}")
    table = frame.select(spec.column_names)
    return table.with_columns(
        pl.col(pl.String).str.replace_all(_LINE_BREAKS, " "),
        pl.col(pl.Datetime(time_zone="*")).dt.convert_time_zone("UTC"),
    )


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
    table = listrak_frame(frame, spec)
    per_file = options.split_rows if options.split_rows > 0 else max(table.height, 1)
    parts = max(1, math.ceil(table.height / per_file))
    written = []
    for index in range(parts):
        chunk = table.slice(index * per_file, per_file)
        csv = folder / (part_name(name, index + 1, parts) if parts > 1 else name)
        write_csv(chunk, csv)
        written.append(WrittenFile(_compress(csv, options.compression), chunk.height))
    return written
