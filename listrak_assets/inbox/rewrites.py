"""Inbox files that local erasure rewrote, so that a rewrite is not taken for a new export.

Erasure rewrites an inbox file without a forgotten person's records (keeping its modification
time); its size changes all the same. Without a note, the inbox sensor would start a run for
a file nobody delivered, the archive would keep the file as "changed since the run read it",
and a raw asset would record a fingerprint no sensor cursor has seen. So each rewrite is
noted in a hidden file beside the inbox files: the file's size and modification time before
(as delivered) and after (as erasure left it). While a file is exactly as erasure left it,
snapshots count it as the file it replaced; any later change makes it news again.

The note holds file names and numbers only. A lost note (two writers at once, a damaged
file) costs one follow-up run, nothing more.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from listrak_assets.atomic import atomic_path

NOTE_NAME = ".listrak-erasure-rewrites.json"
_VERSION = 1

Stat = tuple[int, int]  # (size in bytes, modification time in ns)
Rewrites = dict[str, tuple[Stat, Stat]]  # file name -> (as delivered, as rewritten)


def stat_of(path: Path) -> Stat:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def read(folder: Path) -> Rewrites:
    """The rewrites noted in `folder`; none when there is no note or it can't be read."""
    try:
        data = json.loads((folder / NOTE_NAME).read_text(encoding="utf-8"))
        return {
            str(name): (
                (int(entry["delivered"][0]), int(entry["delivered"][1])),
                (int(entry["rewritten"][0]), int(entry["rewritten"][1])),
            )
            for name, entry in data["files"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def as_delivered(rewrites: Rewrites, name: str, stat: Stat) -> Stat:
    """The stat the file had when it was delivered, if erasure rewrote it and it has not
    changed since; else its own."""
    noted = rewrites.get(name)
    return noted[0] if noted is not None and noted[1] == stat else stat


def note(path: Path, before: Stat, after: Stat) -> None:
    """Note that erasure rewrote `path` from `before` to `after`. A file rewritten again
    keeps the stat it was delivered with; notes of files that are gone or changed since are
    dropped."""
    folder = path.parent
    rewrites = read(folder)
    rewrites[path.name] = (as_delivered(rewrites, path.name, before), after)
    current: Rewrites = {}
    for name, (delivered, rewritten) in rewrites.items():
        with contextlib.suppress(FileNotFoundError):
            if stat_of(folder / name) == rewritten:
                current[name] = (delivered, rewritten)
    target = folder / NOTE_NAME
    if not current:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        return
    data = {
        "version": _VERSION,
        "files": {
            name: {"delivered": list(delivered), "rewritten": list(rewritten)}
            for name, (delivered, rewritten) in sorted(current.items())
        },
    }
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
