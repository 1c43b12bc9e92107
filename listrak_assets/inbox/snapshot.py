"""What the inbox holds, file by file and table by table, as sizes and modification times.

The inbox sensor compares snapshots to tell which tables changed; the raw assets record the
fingerprint of the files they read, so a new instance (or a sensor without a cursor) can tell
that the inbox is still what the last successful run consumed, and start nothing. A file that
local erasure rewrote counts as the file it was delivered as (`rewrites.py`): removing a
forgotten person is not a new export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from listrak_assets.inbox import rewrites
from listrak_assets.inbox.reader import SUFFIXES, find_files
from listrak_assets.inbox.rewrites import Stat

Snapshot = dict[str, Stat]  # file name -> stat

__all__ = ["Snapshot", "Stat", "fingerprint", "inbox_files", "stat_files", "table_files"]


def stat_files(paths: Iterable[Path]) -> Snapshot:
    """The size and modification time of each file that still exists, as delivered (a file
    erasure rewrote, unchanged since, has the stat it was delivered with)."""
    out: Snapshot = {}
    notes: dict[Path, rewrites.Rewrites] = {}
    for path in paths:
        try:
            stat = rewrites.stat_of(path)
        except FileNotFoundError:
            continue  # gone between listing and looking: it is not there
        if path.parent not in notes:
            notes[path.parent] = rewrites.read(path.parent)
        out[path.name] = rewrites.as_delivered(notes[path.parent], path.name, stat)
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
