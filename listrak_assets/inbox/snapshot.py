"""What the inbox holds, file by file and table by table, as sizes and modification times.

The inbox sensor compares snapshots to tell which tables changed; the raw assets record the
fingerprint of the files they read, so a new instance (or a sensor without a cursor) can tell
that the inbox is still what the last successful run consumed, and start nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from listrak_assets.inbox.reader import SUFFIXES, find_files

Stat = tuple[int, int]  # (size in bytes, modification time in ns)
Snapshot = dict[str, Stat]  # file name -> stat


def stat_files(paths: Iterable[Path]) -> Snapshot:
    """The size and modification time of each file that still exists."""
    out: Snapshot = {}
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # gone between listing and looking: it is not there
        out[path.name] = (stat.st_size, stat.st_mtime_ns)
    return out


def inbox_files(inbox: Path) -> Snapshot:
    """Every input file in the inbox (by suffix, whatever its table)."""
    if not inbox.is_dir():
        return {}
    return stat_files(
        sorted(p for p in inbox.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
    )


def table_files(inbox: Path, tables: Iterable[str]) -> dict[str, Snapshot]:
    """The files of each table, by the reader's own rule of which file belongs to which."""
    return {table: stat_files(find_files(inbox, table)) for table in tables}


def fingerprint(files: Snapshot) -> str:
    """A short hash of the files' names, sizes and modification times."""
    digest = hashlib.sha256()
    for name, (size, mtime) in sorted(files.items()):
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:16]
