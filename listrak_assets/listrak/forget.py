"""Listrak's Privacy API: Forget requests (erase a person from Listrak) and their status.

`POST /privacy/v1/Forget` queues an erasure and answers the request's id; `GET
/privacy/v1/Forget/{requestId}` says PROCESSING or COMPLETE. Listrak publishes a rate limit
for this API (20 requests per 10 seconds and 60 per minute), so every call waits for room in
both windows first. A POST is never blindly resent after a lost answer (it would queue a
second request); the API has no lookup, so the caller records what it got and tries again on
a later run.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from listrak_assets.listrak.errors import ListrakApiError
from listrak_assets.listrak.http import ListrakHttp

# Listrak's published limits for the Privacy API: (requests, seconds).
PRIVACY_LIMITS: tuple[tuple[int, float], ...] = ((20, 10.0), (60, 60.0))


class RateLimiter:
    """Sliding windows: a call waits until each window has room for it."""

    def __init__(
        self,
        limits: tuple[tuple[int, float], ...] = PRIVACY_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0  # seconds spent waiting, for run metadata
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def _wait_needed(self, now: float) -> float:
        wait = 0.0
        for count, seconds in self.limits:
            recent = [t for t in self._calls if t > now - seconds]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + seconds - now)
        return wait

    def acquire(self) -> None:
        """Return once a call may go out, and count it."""
        with self._lock:
            while (wait := self._wait_needed(self.clock())) > 0:
                self.waited += wait
                self.sleep(wait)
            self._calls.append(self.clock())
            longest = max(seconds for _, seconds in self.limits)
            while self._calls and self._calls[0] <= self.clock() - longest:
                self._calls.popleft()


@dataclass(frozen=True)
class ForgetStatus:
    """A Forget request as Listrak reports it."""

    request_id: str
    status: str  # PROCESSING or COMPLETE
    submitted: str | None
    processed: str | None  # null until COMPLETE


class ForgetApi:
    """The Privacy API's two operations, rate limited."""

    def __init__(self, http: ListrakHttp, limiter: RateLimiter | None = None) -> None:
        self.http = http
        self.limiter = limiter or RateLimiter()

    def submit(self, email: str | None, phone: str | None) -> str:
        """Queue the erasure of the person with this email and/or phone; the request id."""
        body = {k: v for k, v in (("emailAddress", email), ("phoneNumber", phone)) if v}
        if not body:
            raise ValueError("a Forget request needs an email address or a phone number")
        self.limiter.acquire()
        answer = self.http.request("POST", "/Forget", body=body, idempotent=False)
        request_id = answer.get("resourceId")
        if not isinstance(request_id, str) or not request_id:
            raise ListrakApiError(
                201, None, "the Forget answer carried no request id", "POST", "/Forget"
            )
        return request_id

    def status(self, request_id: str) -> ForgetStatus:
        self.limiter.acquire()
        answer = self.http.request("GET", f"/Forget/{request_id}")
        data = answer.get("data") or {}
        return ForgetStatus(
            request_id=str(data.get("requestID") or request_id),
            status=str(data.get("status") or ""),
            submitted=data.get("submittedDate"),
            processed=data.get("processedDate"),
        )
