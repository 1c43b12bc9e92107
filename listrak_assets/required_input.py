"""Missing is not empty: while the inbox holds the current state, a table whose input files
are absent is an error for whatever publishes it, never an empty table.

Read as empty, a deleted export would turn every audience member off, or upload a header-only
customer file in place of yesterday's. Each sink asks here first, so every one of them refuses
the same way and says where it looked.
"""

from __future__ import annotations

from pathlib import Path

from listrak_assets.inbox import find_files
from listrak_assets.inbox.archive import ever_archived
from listrak_assets.storage import Location


class InputMissing(Exception):
    """A table's input files are not in the inbox: nothing is known about it, so nothing is
    published."""


def missing_message(table: str, inbox: Path, consequence: str, remedy: str) -> str:
    """What is missing, where it was looked for, what is not done, and what to do."""
    return (
        f"no {table} files in {inbox}: {consequence} (a missing file is not an empty table). "
        f"Put the export back in the inbox; {remedy}"
    )


def require_input(
    inbox: Path, table: str, consequence: str, remedy: str, archive: Location | None = None
) -> list[Path]:
    """The table's input files; InputMissing (with `missing_message`) when there are none.

    With the archive model (`archive` given: `inbox_archive` is on), a table with no new file
    whose files were consumed once is unchanged, not missing: no paths, no error."""
    paths = find_files(inbox, table)
    if not paths and not (archive is not None and ever_archived(archive, table)):
        raise InputMissing(missing_message(table, inbox, consequence, remedy))
    return paths
