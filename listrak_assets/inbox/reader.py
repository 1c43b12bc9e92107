"""Reads one table's input files as text, with the source file and row kept on every row.

Column names are matched to Listrak's without regard to case or surrounding spaces; a
`columns:` mapping renames anything else. Columns that match nothing are kept for audiences
(they are profile attributes) and listed as ignored for the commerce tables.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.inbox.csv_shape import first_ragged
from listrak_assets.inbox.errors import InputFileError
from listrak_assets.schemas.spec import TableSpec

SUFFIXES = (".csv", ".txt", ".parquet")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RawFile:
    """What was read from one file."""

    name: str
    rows: int
    bytes: int
    columns: dict[str, str]  # source header -> column name in the raw table
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RawTable:
    frame: pl.DataFrame
    files: list[RawFile]


def find_files(inbox: Path, table: str) -> list[Path]:
    """Files for `table`: names starting with the table name (`customers.csv`,
    `customers_2026-11-01.parquet`), in name order so that later exports win ties."""
    if not inbox.is_dir():
        return []
    return [
        path
        for path in sorted(inbox.iterdir())
        if path.is_file()
        and path.name.lower().endswith(SUFFIXES)
        and path.name.lower().startswith(table)
        # `customers.csv` and `customers_2026-11-01.csv`, but not `customersfoo.csv`.
        and path.name[len(table) : len(table) + 1] in (".", "_", "-", " ")
    ]


def _decode(path: Path, data: bytes, encoding: str) -> bytes:
    """UTF-8 bytes without a BOM, or an error naming the line of the first bad byte."""
    if encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
        data = data.removeprefix(_BOM)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise InputFileError(
                path.name,
                f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); save the "
                "file as UTF-8, or set `encoding:` in listrak.yaml to the file's encoding",
                line=line,
            ) from None
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except (UnicodeDecodeError, LookupError) as err:
        raise InputFileError(path.name, f"can't be decoded as {encoding}: {err}") from None


def _read_csv(path: Path, encoding: str, delimiter: str) -> pl.DataFrame:
    data = _decode(path, path.read_bytes(), encoding)
    if not data.strip():
        raise InputFileError(path.name, "the file is empty; a header row is required", line=1)
    ragged = first_ragged(data, delimiter)
    if ragged is not None:
        raise InputFileError(
            path.name,
            f"row has {ragged.fields} fields but the header has {ragged.expected}; check for an "
            "unquoted delimiter, an unclosed quote or a truncated line",
            line=ragged.line,
        )
    try:
        frame = pl.read_csv(
            io.BytesIO(data), infer_schema=False, separator=delimiter, raise_if_empty=True
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
        raise InputFileError(path.name, f"not a readable CSV file: {err}") from None
    _require_rows(path, data, frame)
    return frame


def _require_rows(path: Path, data: bytes, frame: pl.DataFrame) -> None:
    """A file with lines after its header must yield rows: 0 rows from it means it was
    misread (CR-only line endings read as one long header), never an empty table. A
    header-only file is a real empty table."""
    if frame.height:
        return
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) > 1:
        raise InputFileError(
            path.name,
            f"has {len(lines)} lines but no data row was read; its line endings are probably "
            "CR only (old Mac style): save it with LF or CRLF line endings",
        )


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as err:  # polars raises several kinds for a damaged file
        raise InputFileError(path.name, f"not a readable Parquet file: {err}") from None
    for name, dtype in frame.schema.items():
        if dtype.is_nested():
            raise InputFileError(
                path.name, f"has nested type {dtype}; expected plain values", column=name
            )
    return frame.with_columns(pl.all().cast(pl.String))


def match_columns(
    path: Path,
    headers: list[str],
    spec: TableSpec,
    mapping: dict[str, str],
    updated_at: str,
) -> tuple[dict[str, str], list[str]]:
    """Source header -> raw column name, and the headers left out."""
    by_lower_map = {k.strip().lower(): v for k, v in mapping.items()}
    names = set(spec.column_names)
    chosen: dict[str, str] = {}
    ignored: list[str] = []
    for header in headers:
        key = header.strip().lower()
        if key in by_lower_map:
            target = by_lower_map[key]
        elif key in names:
            target = key
        elif key == updated_at.lower():
            target = UPDATED_AT
        elif spec.keep_extra_columns and key:
            target = header.strip()
        else:
            ignored.append(header)
            continue
        clash = [h for h, t in chosen.items() if t.lower() == target.lower()]
        if clash:
            raise InputFileError(
                path.name,
                f"columns '{clash[0]}' and '{header}' both map to '{target}'; drop one or rename "
                "it with `columns:` in listrak.yaml",
                line=1,
            )
        chosen[header] = target
    present = set(chosen.values())
    for required in spec.required:
        fallback = spec.fallbacks.get(required)
        if required not in present and (fallback is None or fallback not in present):
            raise InputFileError(
                path.name,
                f"required column '{required}' is missing (found: {', '.join(headers)}); if it "
                f"has another name, map it under `columns: {spec.name}:` in listrak.yaml",
                line=1,
                column=required,
            )
    return chosen, ignored


def read_table(
    spec: TableSpec,
    paths: list[Path],
    *,
    mapping: dict[str, str] | None = None,
    updated_at: str = "updated_at",
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> RawTable:
    """All of a table's files as one text frame with `_source_file` and `_source_row`
    (1 = the first data row; in a CSV file the header is line 1)."""
    frames: list[pl.DataFrame] = []
    files: list[RawFile] = []
    for path in paths:
        if path.suffix.lower() == ".parquet":
            frame = _read_parquet(path)
        else:
            frame = _read_csv(path, encoding, delimiter)
        chosen, ignored = match_columns(path, frame.columns, spec, mapping or {}, updated_at)
        frame = frame.select([pl.col(h).alias(t) for h, t in chosen.items()])
        frame = frame.with_columns(
            pl.lit(path.name).alias(SOURCE_FILE),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
        )
        frames.append(frame)
        files.append(RawFile(path.name, frame.height, path.stat().st_size, chosen, ignored))
    if frames:
        combined = pl.concat(frames, how="diagonal")
    else:
        combined = pl.DataFrame(schema={SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64})
    first = [SOURCE_FILE, SOURCE_ROW]
    return RawTable(combined.select(first + [c for c in combined.columns if c not in first]), files)
