"""The archive model of the inbox: after a successful run, the files it consumed move to
`<archive>/<YYYY-MM-DD>/<file name>`, so the inbox holds only what has not been read yet; an
archived day can be copied back into the inbox to replay it.

A table's files move only while they are exactly what the run read (same fingerprint): a file
that landed or changed since stays, and the next run reads it. Of a table kept by day, a run
read only its day's files (`export_date.py`): only those move, never another day's. A move
never overwrites: a name already taken that day gets `_2`, `_3`, ... before its suffix (which
still names the same table and sorts after the first one, so the later export wins ties on
replay).

The archive is a local folder or a URL (`storage.py`); the inbox is always local. In a local
folder a move is a hard link (or a rename) on one file system, a copy under a temporary name
across two. At a URL it is a copy, checked, then a delete: the file is copied to a temporary
name in the day's folder and read back (size and SHA-256), the first free name is claimed
without replacing a file (`storage.rename_no_replace`: race-free on SFTP, a look then a move on
object storage), and only then is the inbox file deleted. A failure at any step leaves the
inbox file where it was; at worst a temporary file (`.<name>.<pid>-<random>.tmp`) stays in the
day's folder, which retention deletes with the day's files. A process killed between the claim
and the delete leaves the file in both places: the next run reads it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from upath import UPath

from listrak_assets.atomic import atomic_path, temp_name
from listrak_assets.inbox.errors import InputFileError
from listrak_assets.inbox.export_date import files_of_day
from listrak_assets.inbox.reader import SUFFIXES, find_files
from listrak_assets.inbox.snapshot import fingerprint, stat_files
from listrak_assets.storage import (
    Location,
    download,
    is_local,
    rename_no_replace,
    text,
    upload_verified,
)


@dataclass(frozen=True)
class Consumed:
    """What a run read of one table: the fingerprint of the files, and for a table kept by
    day the export day whose files they were (None: every file of the table)."""

    fingerprint: str
    export_day: dt.date | None = None


@dataclass
class Archived:
    """What one archiving did: the files moved (inbox name -> archive path), and the tables
    whose files stayed, with why."""

    moved: dict[str, Location] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)


def day_folder(archive: Location, day: dt.date) -> Location:
    return archive / day.isoformat()


def _names(name: str) -> Iterator[str]:
    """`customers.csv`, then `customers_2.csv`, `customers_3.csv`, ..."""
    yield name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    n = 2
    while True:
        yield f"{stem}_{n}{dot}{suffix}"
        n += 1


def _claim(source: Path, folder: Path, name: str) -> Path:
    """Give `source` (on the folder's file system) the first free name in `folder`. A hard
    link never replaces an existing file, so two archivers can't overwrite each other."""
    for candidate in _names(name):
        target = folder / candidate
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # No hard links on this file system: a rename after a look (not race-free).
            if target.exists():
                continue
            os.rename(source, target)
            return target
        source.unlink()
        return target
    raise AssertionError("unreachable: the names never run out")


def move_into(path: Path, folder: Location) -> Location:
    """Move `path` into `folder` under its own name (or the next free one): in one step on
    one file system; across file systems copied whole under a temporary name first; at a URL
    copied, checked and claimed before the inbox file is deleted (`_upload_into`)."""
    if not is_local(folder):
        assert isinstance(folder, UPath)
        return _upload_into(path, folder)
    assert isinstance(folder, Path)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _claim(path, folder, path.name)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
    staged = temp_name(folder / path.name)
    shutil.copy2(path, staged)
    try:
        target = _claim(staged, folder, path.name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
    path.unlink()
    return target


def _claim_at(staged: UPath, folder: UPath, name: str) -> UPath:
    """Give the checked copy the first free name in `folder`, never replacing a file."""
    for candidate in _names(name):
        target = folder / candidate
        if rename_no_replace(staged, target):
            return target
    raise AssertionError("unreachable: the names never run out")


def _upload_into(path: Path, folder: UPath) -> UPath:
    """Copy `path` to a temporary name in `folder`, read it back, give it the first free name,
    then delete `path`. Until that last step the inbox file is untouched; a failure removes the
    temporary copy where it can."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = temp_name(folder / path.name)
    try:
        upload_verified(path, staged)
        target = _claim_at(staged, folder, path.name)
    except BaseException:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise
    path.unlink()
    return target


def archive_consumed(
    inbox: Path, archive: Location, day: dt.date, consumed: Mapping[str, Consumed]
) -> Archived:
    """Move each table's files that the run read to the day's folder (`day`: the day the run
    started, which undated files of a table kept by day belong to) if they still have the
    fingerprint the run recorded when it read them."""
    done = Archived()
    folder = day_folder(archive, day)
    for table, read in sorted(consumed.items()):
        paths = find_files(inbox, table)
        if read.export_day is not None:
            try:
                paths = files_of_day(paths, table, read.export_day, day)
            except InputFileError as err:
                done.kept[table] = f"{err}; the next run reads them"
                continue
        if not paths:
            continue
        if fingerprint(stat_files(paths)) != read.fingerprint:
            done.kept[table] = (
                "its files changed or a new one landed after the run read them; the next "
                "run reads them"
            )
            continue
        for path in paths:
            done.moved[path.name] = move_into(path, folder)
    return done


class ReplayError(ValueError):
    """An archived day can't be copied back: the message says why and what to do."""


def replay(archive: Location, day: dt.date, inbox: Path) -> list[Path]:
    """Copy the day's archived files back into the inbox, each written whole under a
    temporary name and renamed in (so the sensor never sees half a file). The copies are new
    files (modified now): the inbox sensor counts them as news once they have settled.
    Refuses when the day has no files or one of them would replace a file in the inbox."""
    folder = day_folder(archive, day)
    files = (
        sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
        if folder.is_dir()
        else []
    )
    if not files:
        raise ReplayError(
            f"nothing archived on {day.isoformat()}: {text(folder)} holds no input file"
        )
    taken = sorted(p.name for p in files if (inbox / p.name).exists())
    if taken:
        raise ReplayError(
            f"{', '.join(taken)} already in {inbox}: a replay never replaces a file there; "
            "move those out first (or wait until a run has consumed them)"
        )
    inbox.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in files:
        target = inbox / source.name
        with atomic_path(target) as tmp:
            download(source, tmp)
        copied.append(target)
    return copied


def ever_archived(archive: Location, table: str) -> bool:
    """Whether any archived day holds a file of `table`: in the archive model, an input that
    was consumed once is known (unchanged since), not missing."""
    if not archive.is_dir():
        return False
    return any(find_files(day, table) for day in archive.iterdir() if day.is_dir())
