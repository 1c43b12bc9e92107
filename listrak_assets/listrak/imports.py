"""What Listrak's Email and SMS imports share: the file in a request body, the status words,
and the loop that waits for an import to finish.

Both APIs import a CSV file sent inline (base64) and report progress under a status word;
neither documents the words, so both read them the same way.
"""

from __future__ import annotations

import base64
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from listrak_assets.listrak.errors import ImportFailed, ImportTimedOut
from listrak_assets.listrak.http import ListrakHttp

# Listrak documents neither the import status words nor the per-contact results; these cover
# the emulator's words and the plausible real ones.
_DONE = {"completed", "complete", "finished", "success", "succeeded", "done", "processed"}
_RUNNING = {
    "queued",
    "pending",
    "processing",
    "inprogress",
    "in progress",
    "running",
    "started",
    "importing",
    "waiting",
    "new",
}
_FAILED = ("fail", "error", "cancel", "abort", "reject")

log = logging.getLogger(__name__)


def csv_file(file_name: str, content: bytes) -> dict[str, Any]:
    """The part of an import request that carries the file: a CSV (`"` qualifier) with a
    header row, inline."""
    return {
        "fileName": file_name,
        "fileStream": base64.b64encode(content).decode("ascii"),
        "textQualifier": '"',
        "hasColumnNames": True,
    }


@dataclass(frozen=True)
class ImportStatus:
    status: str
    start_date: str | None = None
    end_date: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> ImportStatus:
        """From the `data` of a status answer (either API)."""
        return cls(str(data.get("status") or ""), data.get("startDate"), data.get("endDate"))

    @property
    def failed(self) -> bool:
        word = self.status.lower()
        return any(f in word for f in _FAILED)

    @property
    def done(self) -> bool:
        """Finished and not failed: a known finished word, or an end date (which Listrak
        leaves empty until an import ends), so a new word for "done" still ends the wait."""
        if self.failed:
            return False
        return self.status.lower() in _DONE or bool(self.end_date)

    @property
    def known(self) -> bool:
        """Whether the status word is one we know (done, running or failed)."""
        word = self.status.lower()
        return word in _DONE or word in _RUNNING or self.failed


class ImportingApi(ABC):
    """A Listrak REST API over one authenticated connection, whose imports can be waited for.
    `scope` is what an import belongs to: an email list, or an SMS sender code."""

    # The first wait between polls; None: start at the interval.
    first_poll: ClassVar[float | None] = None

    def __init__(self, http: ListrakHttp) -> None:
        self.http = http

    @abstractmethod
    def import_status(self, scope: int, import_id: str, /) -> ImportStatus: ...

    def wait_for_import(
        self,
        scope: int,
        import_id: str,
        file_name: str,
        *,
        interval: float,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        warn: Callable[[str], None] | None = None,
    ) -> ImportStatus:
        """Poll the import's status until it is done; ImportFailed / ImportTimedOut if it
        failed or took too long. Waits start at `first_poll` and double up to `interval`.

        Done means a finished status word or an end date, whichever comes first. A status
        word we don't know is reported through `warn` once (the run's log in a sink; this
        module's logger otherwise); polling goes on, ending when the end date appears, and at
        the timeout the error names the unknown word."""
        warn = warn or log.warning
        deadline = clock() + timeout
        delay = interval if self.first_poll is None else min(interval, self.first_poll)
        unknown: set[str] = set()
        while True:
            status = self.import_status(scope, import_id)
            if status.failed:
                raise ImportFailed(import_id, file_name, status.status)
            if not status.known and status.status not in unknown:
                unknown.add(status.status)
                warn(
                    f"Listrak import {import_id} ({file_name}) reports the status "
                    f"{status.status!r}, a word this pipeline doesn't know; it waits for the "
                    f"import's end date instead (at most {timeout:.0f} s)"
                )
            if status.done:
                return status
            if clock() >= deadline:
                raise ImportTimedOut(import_id, file_name, status.status, timeout, unknown)
            sleep(delay)
            delay = min(interval, delay * 2)
