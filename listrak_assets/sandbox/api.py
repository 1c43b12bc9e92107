"""What the emulated Listrak APIs (Email and SMS) share: the JSON envelope and its error
replies, the date style, cursor paging and routing a request to its handler.

Both backends build on this module and neither imports the other.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
Reply = tuple[int, Json]
# A handler's arguments: the path's named parts, the query parameters and the JSON body.
Handler = Callable[[dict[str, str], dict[str, str], Json | None], Reply]

MAX_PAGE = 5000
DEFAULT_PAGE = 1000


def now() -> str:
    """Listrak's date style: ISO 8601 without a zone."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def error(status: int, code: str, message: str) -> Reply:
    return status, {"status": status, "error": code, "message": message}


def invalid(name: str) -> Reply:
    return error(400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")


def not_found(what: str) -> Reply:
    """Listrak's 404 for an id that names nothing; `what` lists the ids, e.g. `listId`."""
    return error(
        404,
        "ERROR_UNABLE_TO_LOCATE_RESOURCE",
        f"Unable to locate a resource associated with the {what} supplied.",
    )


def malformed_body() -> Reply:
    return error(400, "ERROR_MALFORMED_REQUEST_BODY", "The request body is malformed.")


class ApiError(Exception):
    """Raised inside a handler to answer with Listrak's error envelope."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def required(body: Json | None, *names: str) -> Json:
    """The body, once it is a JSON object in which each of `names` has a value."""
    if not isinstance(body, dict):
        raise ApiError(malformed_body())
    for name in names:
        if body.get(name) in (None, ""):
            raise ApiError(invalid(name))
    return body


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    if cursor == "Start":
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(invalid("cursor"))


def _page_size(query: dict[str, str]) -> int:
    raw = query.get("count", str(DEFAULT_PAGE))
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(invalid("count"))
    return min(int(raw), MAX_PAGE)


def paged(items: list[Any], query: dict[str, str], render: Callable[[Any], Json]) -> Reply:
    """One page of `items` by the query's `cursor` and `count`, with the next page's cursor."""
    start = _offset(query.get("cursor", "Start"))
    size = _page_size(query)
    chunk = items[start : start + size]
    following = start + size if start + size < len(items) else None
    return 200, {
        "status": 200,
        "nextPageCursor": _cursor(following) if following is not None else None,
        "data": [render(item) for item in chunk],
    }


class Routes:
    """Paths to handlers: each route names the methods it takes and a path pattern; a request
    goes to its owner's `_{method}_{name}` method, run under the owner's lock."""

    def __init__(self, *routes: tuple[tuple[str, ...], str, str]) -> None:
        self._routes = tuple(
            (methods, name, re.compile(pattern)) for methods, name, pattern in routes
        )

    def dispatch(
        self,
        owner: object,
        lock: AbstractContextManager[Any],
        method: str,
        path: str,
        query: dict[str, str],
        body: Json | None,
    ) -> Reply:
        """The handler's reply; 405 when the path is known but not for `method`, else 404."""
        known_path = False
        for methods, name, pattern in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            known_path = True
            if method not in methods:
                continue
            handler: Handler = getattr(owner, f"_{method.lower()}_{name}")
            try:
                with lock:
                    return handler(match.groupdict(), query, body)
            except ApiError as err:
                return err.reply
        if known_path:
            return error(405, "ERROR_UNSUPPORTED_METHOD", f"{method} is not supported here.")
        return error(404, "ERROR_UNKNOWN_ROUTE", "The requested route does not exist.")
