"""One HTTP road to Listrak: retries with bounded backoff, envelopes parsed, errors typed.

Listrak publishes no rate limits for the Email and SMS APIs and sends no `Retry-After`, but
answers 429 and 5xx under load, so every call backs off exponentially with jitter and honours
`Retry-After` if it ever comes. A 400 is a verdict, never retried. A 401 gets one new token.
A request that creates something is never resent after an answer that may have come after
Listrak applied it (5xx, timeout, dropped connection): the caller looks it up first.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from listrak_assets.listrak.errors import (
    ListrakApiError,
    ListrakAuthError,
    ListrakNotFound,
    ListrakUnavailable,
    OutcomeUnknown,
)
from listrak_assets.privacy import mask_text

USER_AGENT = "listrak-assets/0.1 (+httpx)"
MAX_PAGE = 5000  # Listrak's largest `count` for paged collections


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Tests shrink the delays to milliseconds."""

    attempts: int = 6  # tries per request, the first included
    base_delay: float = 0.5  # seconds before the first retry; doubles each time
    max_delay: float = 30.0  # no single wait is longer (before jitter)
    max_retry_after: float = 300.0  # a longer `Retry-After` is cut to this

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1-based): "equal jitter" backoff, or
        the server's `Retry-After` when it gave one."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return float(backoff / 2 + rng.uniform(0, backoff / 2))


@dataclass(frozen=True)
class Timeouts:
    """Every call has a deadline; imports upload large bodies, hence the generous write time."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 120.0
    pool: float = 30.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass
class Stats:
    """What a client did, for run metadata: every HTTP attempt counts, retries included."""

    requests: int = 0
    writes: int = 0  # requests other than GET (token requests excluded)
    token_requests: int = 0
    retries: int = 0
    reauthentications: int = 0
    bytes_sent: int = 0  # request bodies, token requests included
    by_status: dict[str, int] = field(default_factory=dict)
    # Per-number SMS calls run in threads: counts are changed under a lock.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str) -> None:
        with self._lock:
            self.by_status[outcome] = self.by_status.get(outcome, 0) + 1

    def add(self, **amounts: int) -> None:
        """Add to the named counters (`requests=1`, `bytes_sent=n`, ...)."""
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "writes": self.writes,
            "token_requests": self.token_requests,
            "retries": self.retries,
            "reauthentications": self.reauthentications,
            "bytes_sent": self.bytes_sent,
            "by_status": dict(sorted(self.by_status.items())),
        }


class TokenSource(Protocol):
    def token(self) -> str: ...
    def invalidate(self, token: str) -> None: ...


def retry_after_seconds(response: httpx.Response, now: Callable[[], datetime]) -> float | None:
    """`Retry-After` as seconds (either form the HTTP standard allows), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now()).total_seconds())


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _may_have_applied(status: int) -> bool:
    """A 5xx can come after the server applied the request; a 429 is refused up front."""
    return status >= 500


def _request_reached_server(err: httpx.TransportError) -> bool:
    """False only when the request certainly never left: nothing could have been applied."""
    return not isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


@dataclass
class Sender:
    """Sends one request with retries; shared by the token and the API calls."""

    client: httpx.Client
    retry: RetryPolicy
    stats: Stats
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def send(
        self, build: Callable[[], httpx.Request], *, idempotent: bool, label: str
    ) -> httpx.Response:
        """The first response that is not a 429 or 5xx. Transport failures and retryable
        statuses are retried; a non-idempotent request is resent only after a 429 or when it
        certainly never left, and otherwise raises OutcomeUnknown (a 5xx, a timeout or a
        dropped answer may follow a write the server applied)."""
        method, _, path = label.partition(" ")
        for attempt in range(1, self.retry.attempts + 1):
            request = build()
            self.stats.add(requests=1, bytes_sent=len(request.content or b""))
            try:
                response = self.client.send(request)
            except httpx.TransportError as err:
                cause = f"{type(err).__name__}"
                self.stats.count(cause)
                if not idempotent and _request_reached_server(err):
                    raise OutcomeUnknown(method, path, attempt, cause) from None
                if attempt == self.retry.attempts:
                    raise ListrakUnavailable(method, path, attempt, cause) from None
                self._wait(attempt, None)
                continue
            status = response.status_code
            self.stats.count(str(status))
            if not idempotent and _may_have_applied(status):
                # Listrak may have done it before failing: the caller looks before resending.
                raise OutcomeUnknown(method, path, attempt, str(status))
            if not _retryable_status(status) or attempt == self.retry.attempts:
                return response
            self._wait(attempt, retry_after_seconds(response, self.now))
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        self.stats.add(retries=1)
        self.sleep(self.retry.delay(attempt, retry_after, self.rng))


def parse_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a response, or an empty dict when there is none."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {"data": body}


class ListrakHttp:
    """Authenticated calls to one Listrak API (`/email/v1`, `/sms/v1`): bearer token, one
    re-authentication on 401, retries, envelopes in and typed errors out."""

    def __init__(
        self, sender: Sender, tokens: TokenSource, api_url: str, prefix: str, integration: str
    ) -> None:
        self.sender = sender
        self.tokens = tokens
        self.base = api_url.rstrip("/") + prefix
        self.integration = integration

    @property
    def stats(self) -> Stats:
        return self.sender.stats

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: object = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """The response envelope of `method path` (path relative to the API prefix)."""
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        label = f"{method} {path}"
        reauthenticated = False
        while True:
            token = self.tokens.token()

            def build(token: str = token) -> httpx.Request:
                headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
                if content is not None:
                    headers["Content-Type"] = "application/json"
                return self.sender.client.build_request(
                    method, self.base + path, params=params, content=content, headers=headers
                )

            if method != "GET":
                self.stats.add(writes=1)
            response = self.sender.send(build, idempotent=idempotent, label=label)
            if response.status_code == 401 and not reauthenticated:
                # Expired or revoked token: one new token, one more try.
                self.tokens.invalidate(token)
                self.stats.add(reauthentications=1)
                reauthenticated = True
                continue
            return self._envelope(response, method, path)

    def _envelope(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        body = parse_body(response)
        status = response.status_code
        if status < 400:
            return body
        code = body.get("error") if isinstance(body.get("error"), str) else None
        message = str(body.get("message") or response.reason_phrase or "")
        if _retryable_status(status):
            raise ListrakUnavailable(
                method, path, self.sender.retry.attempts, f"{status} {code or ''}".strip()
            )
        if status == 401:
            raise ListrakAuthError(
                self.integration,
                f"{method} {path} was refused twice with 401 {code or ''} ({mask_text(message)}) "
                "even with a new token; the integration may also lack access to this area",
            )
        if status == 404 and code == "ERROR_UNABLE_TO_LOCATE_RESOURCE":
            raise ListrakNotFound(status, code, message, method, path)
        raise ListrakApiError(status, code, message, method, path)

    def paged(
        self, path: str, params: dict[str, str] | None = None, count: int = MAX_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged collection: `cursor=Start`, then each
        `nextPageCursor` fed back verbatim until it is empty."""
        cursor = "Start"
        seen: set[str] = set()
        while True:
            page = self.request(
                "GET", path, params={**(params or {}), "cursor": cursor, "count": str(count)}
            )
            yield from page.get("data") or []
            cursor = page.get("nextPageCursor") or ""
            if not cursor or not page.get("data"):
                return
            if cursor in seen:
                raise ListrakApiError(
                    200, None, f"paging did not advance (cursor {cursor!r} repeated)", "GET", path
                )
            seen.add(cursor)
