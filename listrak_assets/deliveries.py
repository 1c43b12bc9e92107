"""What the file sinks last delivered, kept in the warehouse's state folder beside the mirror
state: a machine (or Dagster instance) that shares the warehouse then knows that Listrak already
has these bytes under these names today, even though its own event log has no such upload.

One small JSON file per file sink and day (`state/deliveries/<asset key>/<day>.json`) holding
what the sink records as `delivered`: destination, names, day, options and each file's SHA-256;
file names and hashes only, no personal data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from listrak_assets.storage import Location, write_bytes

FOLDER = "deliveries"


class Deliveries:
    """The delivery records under one state folder."""

    def __init__(self, state: Location) -> None:
        self.folder = state / FOLDER

    def path(self, key: Sequence[str], day: str) -> Location:
        return self.folder.joinpath(*key, f"{day}.json")

    def last(self, key: Sequence[str], day: str) -> dict[str, Any] | None:
        """The delivery recorded for this sink and day; None when there is none, or it can't
        be read (then the files are sent again: re-sending is safe, skipping is not)."""
        path = self.path(key, day)
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def record(self, key: Sequence[str], day: str, delivery: dict[str, Any]) -> None:
        """After an upload: these bytes are what Listrak has for this sink and day."""
        text = json.dumps(delivery, sort_keys=True, indent=1) + "\n"
        write_bytes(self.path(key, day), text.encode("utf-8"))
