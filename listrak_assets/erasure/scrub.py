"""Local erasure: every local copy rewritten without the forgotten people.

The warehouse's Parquet tables (raw, clean, rejects, the mirror state), the input files of
the inbox and the archive folder are each read, stripped of every row that names a forgotten
email or phone, and written back whole under a temporary name then renamed in (`atomic.py`):
a reader sees the old file or the new one, never a truncated one. A CSV file keeps its bytes
(header, quoting, line endings, encoding, BOM): only the lines of the removed records go.

A row is found by value: each text that looks like an email or a phone is normalised the
way cleaning does it and its salted hash looked up, so `" Jo@Example.COM"` in an export is
found as surely as `jo@example.com` in a clean table. A rejects line is also removed when its
file and row are those of a removed raw row (its other values belong to the same person),
unless cleaning already masked the whole row as `forgotten` and the caller keeps such lines.

A rewritten input file keeps its modification time (retention and freshness count from when
it arrived), and a rewrite in the inbox is noted (`inbox/rewrites.py`) so that it does not
pass for a new export. An archive at a URL is rewritten the same way through `storage.py`
(temporary name, then moved over the file); its files keep their modification time on SFTP,
but an object store dates a rewritten object now, so retention counts from the rewrite there.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Required, TypedDict, Unpack

import polars as pl
from upath import UPath

from listrak_assets.atomic import atomic_path
from listrak_assets.cleaning.emails import normalise_email
from listrak_assets.cleaning.phones import normalise_phone
from listrak_assets.cleaning.table import FORGOTTEN
from listrak_assets.cleaning.text import clean_text
from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW
from listrak_assets.formats import PhoneValidation
from listrak_assets.inbox import rewrites
from listrak_assets.storage import (
    Location,
    files_under,
    is_local,
    modified,
    read_parquet,
    read_parquet_metadata,
    relative,
    replace_file,
    write_parquet,
    write_parquet_file,
)
from listrak_assets.stored_tables import BUILT_FROM
from listrak_assets.suppression import Suppression

INPUT_SUFFIXES = (".csv", ".txt", ".parquet")
_BOM = b"\xef\xbb\xbf"
# Where a row came from, in raw tables and in rejects tables.
_ORIGINS = ((SOURCE_FILE, SOURCE_ROW), ("source_file", "source_row"))
_MIN_PHONE_DIGITS = 7


@dataclass(frozen=True)
class Matcher:
    """Finds the values of forgotten people in text, normalised like cleaning does."""

    suppression: Suppression
    default_phone_country: str = "US"
    phone_validation: PhoneValidation = "valid"

    def matches(self, values: pl.Series) -> pl.Series:
        """True where a value is a forgotten person's email or phone."""
        text = clean_text(values.cast(pl.String))
        distinct = text.drop_nulls().unique()
        emails = distinct.filter(distinct.str.contains("@"))
        phones = distinct.filter(distinct.str.count_matches(r"\d") >= _MIN_PHONE_DIGITS)
        hits: list[str] = []
        if emails.len() and self.suppression.emails:
            normal = normalise_email(emails).value
            hits += emails.filter(self.suppression.matches("email", normal)).to_list()
        if phones.len() and self.suppression.phones:
            normal = normalise_phone(
                phones, self.default_phone_country, self.phone_validation
            ).value
            hits += phones.filter(self.suppression.matches("phone", normal)).to_list()
        return text.is_in(pl.Series(hits, dtype=pl.String).implode()).fill_null(False)

    def rows(self, frame: pl.DataFrame) -> pl.Series:
        """True for each row with a forgotten value in any text column."""
        found = pl.Series([False] * frame.height, dtype=pl.Boolean)
        for name, dtype in frame.schema.items():
            if dtype == pl.String:
                found = found | self.matches(frame[name])
        return found


@dataclass
class Erasure:
    """What one local erasure removed: rows per file (relative to its root), no values."""

    removed: dict[str, int] = field(default_factory=dict)
    # (input file name, record number) of every removed raw row.
    origins: set[tuple[str, int]] = field(default_factory=set)

    @property
    def rows(self) -> int:
        return sum(self.removed.values())

    def note(self, where: str, rows: int) -> None:
        if rows:
            self.removed[where] = self.removed.get(where, 0) + rows


def _origin_rows(frame: pl.DataFrame, origins: set[tuple[str, int]]) -> pl.Series:
    """True for each row whose file and row number are among `origins`."""
    for file_col, row_col in _ORIGINS:
        if file_col in frame.columns and row_col in frame.columns and origins:
            pairs = pl.DataFrame(
                [(f, r) for f, r in origins],
                schema={file_col: pl.String, row_col: pl.Int64},
                orient="row",
            ).with_columns(pl.lit(True).alias("__hit"))
            keyed = frame.select(pl.col(file_col).cast(pl.String), pl.col(row_col).cast(pl.Int64))
            joined = keyed.join(pairs, on=[file_col, row_col], how="left", maintain_order="left")
            return joined["__hit"].fill_null(False)
    return pl.Series([False] * frame.height, dtype=pl.Boolean)


def _own_metadata(path: Location) -> dict[str, str] | None:
    """The key-value metadata of the file at `path` (the mirror state's version), without the
    Arrow schema polars writes itself, nor the record of what a stored table was built from:
    the rewritten table was not built from those inputs, so no instance may keep it as
    unchanged on the strength of that record."""
    metadata = read_parquet_metadata(path)
    metadata.pop("ARROW:schema", None)
    metadata.pop(BUILT_FROM, None)
    return metadata or None


def _parquet_writer(path: Location, frame: pl.DataFrame) -> Callable[[Path], None]:
    """Writes `frame` with the key-value metadata of the file at `path`."""
    metadata = _own_metadata(path)

    def write(tmp: Path) -> None:
        write_parquet_file(frame, tmp, metadata)

    return write


def _write_parquet(path: Location, frame: pl.DataFrame) -> None:
    """Replace the file, keeping its key-value metadata."""
    write_parquet(frame, path, _own_metadata(path))


def _parquet_files(folder: Location) -> list[Location]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*.parquet") if p.is_file() and not p.name.startswith(".")
    )


def _forgotten_origins(frame: pl.DataFrame) -> set[tuple[str, int]]:
    """(file, row) of the rows a rejects table says were dropped as `forgotten`."""
    if "reason" not in frame.columns or "source_file" not in frame.columns:
        return set()
    lines = frame.filter(pl.col("reason") == FORGOTTEN).select("source_file", "source_row")
    return {(str(f), int(r)) for f, r in lines.iter_rows()}


def scrub_tables(
    paths: Iterable[Location],
    root: Location,
    matcher: Matcher,
    erasure: Erasure,
    *,
    keep_forgotten: bool = False,
) -> None:
    """The Parquet tables at `paths` (under `root`) without the forgotten people's rows. Raw
    tables go first, so that their rows' origins reach the rejects lines that carry no
    matching value themselves. With `keep_forgotten`, rejects lines of a row cleaning
    dropped as `forgotten` stay: their values are masked, and they say why the row went."""
    frames = {path: read_parquet(path) for path in paths}
    hits = {path: matcher.rows(frame) for path, frame in frames.items()}
    for path, frame in frames.items():
        if SOURCE_FILE in frame.columns and SOURCE_ROW in frame.columns:
            found = frame.filter(hits[path]).select(SOURCE_FILE, SOURCE_ROW)
            erasure.origins.update((str(f), int(r)) for f, r in found.iter_rows())
    for path, frame in frames.items():
        origins = erasure.origins
        if keep_forgotten:
            origins = origins - _forgotten_origins(frame)
        drop = hits[path] | _origin_rows(frame, origins)
        count = int(drop.sum())
        if count:
            _write_parquet(path, frame.filter(~drop))
            erasure.note(relative(path, root), count)


def scrub_warehouse(warehouse: Location, matcher: Matcher, erasure: Erasure) -> None:
    """Every Parquet table under the warehouse (raw, clean, rejects, mirror state) without
    the forgotten people's rows."""
    scrub_tables(_parquet_files(warehouse), warehouse, matcher, erasure)


def _rewrite_input(path: Location, write: Callable[[Path], object], watched: bool) -> None:
    """Replace an input file through `write` (which writes a local file), keeping its
    modification time; in a folder the inbox sensor watches, the rewrite is noted so that it
    is not taken for a new export."""
    if not is_local(path):
        assert isinstance(path, UPath) and not watched  # the inbox is a local folder
        when = modified(path)
        with tempfile.TemporaryDirectory(prefix="listrak-scrub-") as folder:
            local = Path(folder) / path.name
            write(local)
            replace_file(local, path, when)
        return
    assert isinstance(path, Path)
    old = path.stat()
    with atomic_path(path) as tmp:
        write(tmp)
        os.utime(tmp, ns=(old.st_atime_ns, old.st_mtime_ns))
    if watched:
        rewrites.note(path, (old.st_size, old.st_mtime_ns), rewrites.stat_of(path))


def _records(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, end line, fields) of each CSV record, lines as split by `newline=""`."""
    lines = io.StringIO(text, newline="").readlines()
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    start = 0
    for fields in csv.reader(feed(), delimiter=delimiter):
        yield start, consumed, fields
        start = consumed


def _scrub_csv(
    path: Location,
    matcher: Matcher,
    origins: set[tuple[str, int]],
    encoding: str,
    delimiter: str,
    watched: bool,
) -> int:
    data = path.read_bytes()
    bom = data.startswith(_BOM) and encoding.lower().replace("-", "") in ("utf8", "utf8sig")
    text = data.removeprefix(_BOM).decode("utf-8" if bom else encoding)
    lines = io.StringIO(text, newline="").readlines()
    records = list(_records(text, delimiter))[1:]  # the header stays
    # Column by column: a frame built from one tuple per cell costs several times more.
    cells = pl.DataFrame(
        {
            "record": [n for n, (_, _, fields) in enumerate(records) for _ in fields],
            "value": [value for _, _, fields in records for value in fields],
        },
        schema={"record": pl.Int64, "value": pl.String},
    )
    hit = set(cells.filter(matcher.matches(cells["value"]))["record"].to_list())
    hit |= {row - 1 for name, row in origins if name == path.name}
    gone = {
        line for n, (start, end, _) in enumerate(records) if n in hit for line in range(start, end)
    }
    if not gone:
        return 0
    kept = "".join(line for i, line in enumerate(lines) if i not in gone)
    content = (_BOM if bom else b"") + kept.encode("utf-8" if bom else encoding)
    _rewrite_input(path, lambda tmp: tmp.write_bytes(content), watched)
    return len([n for n in hit if n < len(records)])


def _scrub_parquet_input(
    path: Location, matcher: Matcher, origins: set[tuple[str, int]], watched: bool
) -> int:
    frame = read_parquet(path)
    numbers = pl.Series(range(1, frame.height + 1), dtype=pl.Int64)
    mine = [row for name, row in origins if name == path.name]
    drop = matcher.rows(frame) | numbers.is_in(pl.Series(mine, dtype=pl.Int64).implode())
    count = int(drop.sum())
    if count:
        _rewrite_input(path, _parquet_writer(path, frame.filter(~drop)), watched)
    return count


class ScrubOptions(TypedDict, total=False):
    """How input files are scrubbed: `by_origin` also removes the records whose raw rows were
    removed (the inbox: raw tables name its files); `watched`: the inbox sensor watches the
    folder; `encoding` and `delimiter`: the CSV dialect (`input` in listrak.yaml)."""

    by_origin: Required[bool]
    watched: bool
    encoding: str
    delimiter: str


def scrub_files(
    paths: Iterable[Location],
    root: Location,
    matcher: Matcher,
    erasure: Erasure,
    **options: Unpack[ScrubOptions],
) -> None:
    """The input files at `paths` (CSV, TXT, Parquet; under `root`) without the forgotten
    people's records (see `ScrubOptions`)."""
    watched = options.get("watched", False)
    encoding = options.get("encoding", "utf-8")
    delimiter = options.get("delimiter", ",")
    origins = erasure.origins if options["by_origin"] else set()
    for path in paths:
        if not path.is_file() or path.name.startswith("."):
            continue
        suffix = path.suffix.lower()
        if suffix not in INPUT_SUFFIXES:
            continue
        if suffix == ".parquet":
            count = _scrub_parquet_input(path, matcher, origins, watched)
        else:
            count = _scrub_csv(path, matcher, origins, encoding, delimiter, watched)
        erasure.note(f"{root.name}/{relative(path, root)}", count)


def scrub_inputs(
    folder: Location, matcher: Matcher, erasure: Erasure, **options: Unpack[ScrubOptions]
) -> None:
    """The input files (CSV, TXT, Parquet) under `folder` (a local folder, or the archive at
    a URL), at any depth, without the forgotten people's records (see `scrub_files`)."""
    scrub_files(files_under(folder), folder, matcher, erasure, **options)
