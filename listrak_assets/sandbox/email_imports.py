"""The emulator's list imports: what a posted import must hold, the worker that applies queued
imports in the background (as Listrak does), and how a file's rows change the list.

Where Listrak doesn't document it, the emulator chooses and says so: import status words are
`Queued`, `Processing`, `Completed`, `Failed`; per-contact results are `Subscribed` (new
contact), `Updated`, `PreviouslyUnsubscribed` (skipped: imports never resubscribe),
`NotOnList` (UpdateSubscribers, unknown contact), `InvalidEmail`, `Banned`, `InvalidValue` (a
value too long or not a CheckBox word).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import threading
import time
from collections.abc import Iterator

from listrak_assets.sandbox.api import ApiError, Json, invalid, now, required
from listrak_assets.sandbox.email_state import (
    COLUMN_TYPES,
    EMAIL_PATTERN,
    IMPORT_TYPES,
    SEGMENTATION_TYPES,
    Contact,
    EmailList,
    Import,
    apply_values,
)

SLICE = 10_000  # rows applied per hold of the lock


def new_import(item: EmailList, body: Json | None, ids: Iterator[int]) -> Import:
    """The import a POST asks for, checked as Listrak checks it (the file is read later); only
    an accepted import takes the next id from `ids`."""
    body = required(
        body,
        "fileDelimiter",
        "fileMappings",
        "fileName",
        "fileStream",
        "importType",
        "segmentationImportType",
    )
    if body["importType"] not in IMPORT_TYPES:
        raise ApiError(invalid("importType"))
    if body["segmentationImportType"] not in SEGMENTATION_TYPES:
        raise ApiError(invalid("segmentationImportType"))
    if len(str(body["fileDelimiter"])) != 1:
        raise ApiError(invalid("fileDelimiter"))
    if len(str(body.get("textQualifier") or "")) > 1:
        raise ApiError(invalid("textQualifier"))
    try:
        content = base64.b64decode(str(body["fileStream"]), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(invalid("fileStream")) from None
    mappings = body["fileMappings"]
    if not isinstance(mappings, list) or not mappings:
        raise ApiError(invalid("fileMappings"))
    columns: set[int] = set()
    for mapping in mappings:
        if not isinstance(mapping, dict):
            raise ApiError(invalid("fileMappings"))
        column, kind = mapping.get("fileColumn"), mapping.get("fileColumnType")
        if not isinstance(column, int) or column < 0 or column in columns:
            raise ApiError(invalid("fileColumn"))
        if kind not in COLUMN_TYPES:
            raise ApiError(invalid("fileColumnType"))
        if kind == "SegmentationField" and mapping.get("segmentationFieldId") not in item.fields:
            raise ApiError(invalid("segmentationFieldId"))
        columns.add(column)
    if sum(m["fileColumnType"] == "Email" for m in mappings) != 1:
        raise ApiError(invalid("fileMappings (exactly one Email column)"))
    job = Import(next(ids), str(body["fileName"]), now(), body, content)
    job.request = {k: v for k, v in body.items() if k != "fileStream"}
    return job


class ImportQueue:
    """Imports waiting to be applied, and the thread that applies them one at a time, a slice
    of rows per hold of the backend's lock, so other calls are answered meanwhile."""

    def __init__(self, lock: threading.RLock, banned: set[str], delay: float = 0.0) -> None:
        self._lock = lock
        self._banned = banned  # the backend's set: addresses banned later count too
        self._delay = delay
        self._fail: list[int] = []  # countdowns: fail the import that reaches 0
        self._queue: list[tuple[EmailList, Import]] = []
        self._wake = threading.Condition(lock)
        self._stopped = False
        self._worker = threading.Thread(target=self._work, name="listrak-imports", daemon=True)
        self._worker.start()

    def submit(self, item: EmailList, job: Import) -> None:
        """Queue `job` (call with the lock held); a pending `fail_import` may mark it to fail."""
        for index, countdown in enumerate(self._fail):
            if countdown == 0:
                job.fail = True
                del self._fail[index]
                break
        self._fail = [c - 1 for c in self._fail]
        item.imports[job.import_id] = job
        self._queue.append((item, job))
        self._wake.notify_all()

    def fail_import(self, after: int = 0) -> None:
        """Make the import that arrives after `after` further imports end `Failed`."""
        with self._lock:
            self._fail.append(after)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every queued import has been processed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._queue and time.monotonic() < deadline:
                self._wake.wait(0.05)
            return not self._queue

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._wake.notify_all()
        self._worker.join(timeout=5)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                item, job = self._queue[0]
                job.status, job.start_date = "Processing", now()
            if self._delay:
                time.sleep(self._delay)
            # Applied a slice at a time, so Status and other calls are answered meanwhile.
            steps = iter(()) if job.fail else apply_import(item, job, self._banned)
            status = "Failed" if job.fail else "Completed"
            while True:
                with self._lock:
                    try:
                        next(steps)
                    except StopIteration:
                        break
                    except ValueError:
                        status = "Failed"
                        break
            with self._lock:
                job.status = status
                job.end_date = now()
                job.content = b""  # done with it; imports can be large
                self._queue.pop(0)
                self._wake.notify_all()


def apply_import(item: EmailList, job: Import, banned: set[str]) -> Iterator[None]:
    """Parse the import file with its mappings and apply it to the list's contacts, pausing
    after every `SLICE` rows (a generator: the caller holds the lock for each step)."""
    request = job.request
    qualifier = str(request.get("textQualifier") or "")
    try:
        text = job.content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError("not UTF-8") from err
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=str(request["fileDelimiter"]),
        quotechar=qualifier or None,
        quoting=csv.QUOTE_MINIMAL if qualifier else csv.QUOTE_NONE,
        strict=True,
    )
    mappings = request["fileMappings"]
    email_col = next(m["fileColumn"] for m in mappings if m["fileColumnType"] == "Email")
    field_cols = [
        (m["fileColumn"], m["segmentationFieldId"], m.get("defaultValue"))
        for m in mappings
        if m["fileColumnType"] == "SegmentationField"
    ]
    kind = request["importType"]
    mode = request["segmentationImportType"]
    with_data = kind in ("AddSubscribersAndSegmentationData", "UpdateSubscribers")
    include_unsubscribed = bool(request.get("includeUnsubscribed")) and kind == "UpdateSubscribers"
    summary, results = job.summary, job.results
    rows = iter(reader)
    try:
        if request.get("hasColumnNames"):
            next(rows, None)
        for number, row in enumerate(rows, start=1):
            if number % SLICE == 0:
                yield
            summary["processedCount"] += 1
            email = row[email_col].strip().lower() if email_col < len(row) else ""
            if not EMAIL_PATTERN.match(email):
                summary["invalidEmailCount"] += 1
                results.append((email, "InvalidEmail"))
                continue
            if email in banned:
                summary["bannedCount"] += 1
                results.append((email, "Banned"))
                continue
            values: dict[int, str] = {}
            bad = False
            for column, fid, default in field_cols if with_data else ():
                raw = row[column] if column < len(row) else ""
                stored = item.fields[fid].coerce(raw or (default or ""))
                if stored is None:
                    bad = True
                    break
                values[fid] = stored
            if bad:
                summary["skippedCount"] += 1
                results.append((email, "InvalidValue"))
                continue
            result = _apply_row(item, email, values, kind, mode, include_unsubscribed, summary)
            results.append((email, result))
    except csv.Error as err:
        raise ValueError(f"malformed file: {err}") from err


def _apply_row(
    item: EmailList,
    email: str,
    values: dict[int, str],
    kind: str,
    mode: str,
    include_unsubscribed: bool,
    summary: dict[str, int],
) -> str:
    contact = item.contacts.get(email)
    mapped = list(values)
    if kind == "RemoveSubscribers":
        if contact is None or not contact.subscribed:
            summary["alreadyUnsubscribedCount"] += 1
            return "AlreadyUnsubscribed"
        contact.subscribed = False
        contact.unsubscribe_date, contact.unsubscribe_method = now(), "Import"
        summary["unsubscribedCount"] += 1
        return "Unsubscribed"
    if contact is None:
        if kind == "UpdateSubscribers":
            summary["skippedCount"] += 1
            return "NotOnList"
        new = Contact(email, True, {}, now(), None, "Import")
        apply_values(new, values, mode, mapped)
        item.add_contact(new)
        summary["subscribedCount"] += 1
        return "Subscribed"
    if not contact.subscribed:
        if include_unsubscribed:
            apply_values(contact, values, mode, mapped)
            return "Updated"
        # Imports never resubscribe: the contact and its profile are left as they are.
        summary["previouslyUnsubscribedCount"] += 1
        return "PreviouslyUnsubscribed"
    if kind != "UpdateSubscribers":
        summary["alreadySubscribedCount"] += 1
    apply_values(contact, values, mode, mapped)
    return "Updated"
