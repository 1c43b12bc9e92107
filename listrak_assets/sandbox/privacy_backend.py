"""The emulated Privacy API: Forget requests, answered PROCESSING until their time comes.

Each request is PROCESSING for its first `checks_until_complete` status checks and COMPLETE
from then on (0: complete at the first check); tests change the schedule, or finish or hold
every request at once, to play Listrak taking its time. When a request completes, the person
is gone from the emulator's email and SMS contacts too (`on_complete`), as from Listrak's.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from listrak_assets.sandbox.api import Json, Reply, Routes, invalid, malformed_body, not_found, now

PROCESSING = "PROCESSING"
COMPLETE = "COMPLETE"


@dataclass
class ForgetRecord:
    """One Forget request the emulator accepted."""

    request_id: str
    email: str | None
    phone: str | None
    submitted: str
    checks_left: int  # status checks still answered PROCESSING
    processed: str | None = None

    @property
    def status(self) -> str:
        return COMPLETE if self.processed else PROCESSING


class PrivacyBackend:
    """State and routes of `/privacy/v1`."""

    _ROUTES = Routes(
        (("POST",), "forget", r"^/Forget$"),
        (("GET",), "forget_request", r"^/Forget/(?P<request_id>[^/]+)$"),
    )

    def __init__(self, checks_until_complete: int = 0, seed: int = 0) -> None:
        self.lock = threading.Lock()
        self.forgets: dict[str, ForgetRecord] = {}
        self.checks_until_complete = checks_until_complete
        self._ids = itertools.count()
        self._seed = seed
        # Called once per request, when it turns COMPLETE: the emulator removes the person
        # from its other integrations' contacts.
        self.on_complete: Callable[[ForgetRecord], None] | None = None

    def handle(self, method: str, path: str, query: dict[str, str], body: Json | None) -> Reply:
        """Answer one authenticated request to `path` (relative to `/privacy/v1`)."""
        return self._ROUTES.dispatch(self, self.lock, method, path, query, body)

    # Knobs ----------------------------------------------------------------------------------

    def complete_all(self) -> None:
        """Every request still PROCESSING is COMPLETE at its next check."""
        with self.lock:
            for record in self.forgets.values():
                record.checks_left = 0

    def hold_all(self, checks: int = 1_000_000) -> None:
        """Every request still PROCESSING stays so for `checks` more checks."""
        with self.lock:
            for record in self.forgets.values():
                if not record.processed:
                    record.checks_left = checks

    # Routes ---------------------------------------------------------------------------------

    def _post_forget(self, _: dict[str, str], __: dict[str, str], body: Json | None) -> Reply:
        if not isinstance(body, dict):
            return malformed_body()
        email, phone = body.get("emailAddress"), body.get("phoneNumber")
        for name, value in (("emailAddress", email), ("phoneNumber", phone)):
            if value is not None and not isinstance(value, str):
                return invalid(name)
        if not email and not phone:
            return invalid("emailAddress")
        # Seeded, so a test run gives the same ids every time.
        request_id = str(uuid.UUID(int=(self._seed << 64) + next(self._ids) + 1, version=4))
        self.forgets[request_id] = ForgetRecord(
            request_id, email or None, phone or None, now(), self.checks_until_complete
        )
        return 201, {"status": 201, "resourceId": request_id}

    def _get_forget_request(
        self, path: dict[str, str], _: dict[str, str], __: Json | None
    ) -> Reply:
        record = self.forgets.get(path["request_id"])
        if record is None:
            return not_found("requestId")
        if record.processed is None:
            if record.checks_left <= 0:
                record.processed = now()
                if self.on_complete is not None:
                    self.on_complete(record)
            else:
                record.checks_left -= 1
        return 200, {
            "status": 200,
            "data": {
                "requestID": record.request_id,
                "status": record.status,
                "submittedDate": record.submitted,
                "processedDate": record.processed,
            },
        }
