"""Atomic local file writes: readers see the old file or the new one, never half of one.

A writer writes under a temporary name of its own in the target's folder
(`.<name>.<pid>-<random>.tmp`), flushes it to disk, and renames it over the target with
`os.replace`, which is atomic on one file system; the folder is flushed too, so the rename
survives a power cut. Two writers of one target never share a temporary file, so they can't
truncate or rename each other's: the last rename wins and the file is always whole. A writer
that fails removes its temporary file; one that is killed leaves it behind, and the next write
of the same target removes it once its writer's process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from listrak_assets.processes import alive

if TYPE_CHECKING:
    from upath import UPath

_P = TypeVar("_P", Path, "UPath")

_SUFFIX = ".tmp"


def temp_name(target: _P) -> _P:
    """A temporary name for `target` that no other writer uses: same folder, hidden (also
    for a file elsewhere than on this machine, `storage.py`)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(6)}{_SUFFIX}")


def _temp_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.name)}\.(?P<pid>\d+)-[0-9a-f]+{re.escape(_SUFFIX)}")


def remove_orphans(target: Path) -> list[Path]:
    """Remove the temporary files of `target` whose writer process no longer exists (a writer
    killed mid-write); those of live writers are left alone. The paths removed."""
    pattern = _temp_pattern(target)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(target.parent):
            match = pattern.fullmatch(entry.name)
            if match and not alive(int(match["pid"])):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path, *, durable: bool = True) -> Iterator[Path]:
    """`with atomic_path(target) as tmp:` write the whole file to `tmp`; on a clean exit it
    replaces `target` in one step. On an error `target` is untouched and `tmp` is removed.

    `durable` flushes the file and its folder to disk before returning, so that after a crash
    the target is the old file or the new one, never an empty one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(target)
    tmp = temp_name(target)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
