"""A local Listrak: a real HTTP server on 127.0.0.1 that keeps its state in memory.

It serves the token endpoint (one set of credentials per integration) and the Email API routes
the pipeline uses, with Listrak's envelopes, status codes and error codes, and can be told to
answer some requests with 429s, 500s, slow answers or dropped connections. Tests and the demo
start it with `run_emulator()`; on its own:

    python -m listrak_assets.sandbox.emulator                 # prints the variables to export
    python -m listrak_assets.sandbox.emulator -- COMMAND ...  # runs COMMAND against it

The SMS API's routes for the SMS audience are served too (`sms_backend.py`), with their own
credentials and tokens: a token of one integration is refused by the other.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import secrets
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from listrak_assets.listrak.auth import API_URL_ENV, AUTH_URL_ENV, Credentials, Integration
from listrak_assets.sandbox.api import Json, error, malformed_body
from listrak_assets.sandbox.email_backend import EmailBackend
from listrak_assets.sandbox.launcher import (
    add_command_arguments,
    already_configured,
    command_of,
    print_exports,
    run_with,
    wait_for_ctrl_c,
)
from listrak_assets.sandbox.sms_backend import SmsBackend

TOKEN_PATH = "/OAuth2/Token"
MAX_BODY = 262_144_000  # Listrak's 250 MB request limit; larger bodies get a 404 like Data's
DEFAULT_LISTS = ("Newsletter",)
DEFAULT_SENDER_CODE = "12345"
DEFAULT_PHONE_LISTS = ("SMS Audience",)
_JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Faults:
    """Shares of requests (0..1) that go wrong, drawn independently per request."""

    throttle: float = 0.0  # 429 ERROR_TOO_MANY_REQUESTS
    errors: float = 0.0  # 500 ERROR_UNHANDLED_EXCEPTION
    drops: float = 0.0  # connection closed before the request is handled
    drops_after: float = 0.0  # handled (applied!), then closed without an answer
    slow: float = 0.0  # answered after `slow_seconds`
    slow_seconds: float = 1.0
    retry_after: int | None = None  # `Retry-After` seconds sent with 429s (Listrak sends none)
    include_token: bool = True  # the token endpoint misbehaves too
    match: str = ""  # only requests whose "METHOD /path" matches this regex (empty: all)
    seed: int = 0

    def pick(self, rng: random.Random, request: str) -> str | None:
        draw = rng.random()
        if self.match and not re.search(self.match, request):
            return None
        for name, share in (
            ("drop", self.drops),
            ("429", self.throttle),
            ("500", self.errors),
            ("slow", self.slow),
            ("drop_after", self.drops_after),
        ):
            if draw < share:
                return name
            draw -= share
        return None


@dataclass(frozen=True)
class Request:
    """One request the emulator received, as it arrived, and what it did with it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes | None  # None when bodies are not recorded
    status: int | None  # None when the connection was dropped
    fault: str | None
    response: bytes | None

    @property
    def api(self) -> str:
        """`auth`, `email`, `sms` or `other`."""
        if self.path == TOKEN_PATH:
            return "auth"
        return next((i.value for i in Integration if self.path.startswith(i.prefix)), "other")

    @property
    def is_write(self) -> bool:
        return self.api in ("email", "sms") and self.method != "GET"


@dataclass
class _Reply:
    status: int = 200
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class Emulator:
    """The running emulator: where it is, its credentials and state, its fault knobs and a
    record of every request it received."""

    def __init__(
        self,
        credentials: dict[Integration, Credentials],
        faults: Faults,
        email: EmailBackend,
        token_lifetime: int,
        record_bodies: bool,
        sms: SmsBackend | None = None,
    ) -> None:
        self.credentials = credentials
        self.email = email
        self.sms = sms or SmsBackend()
        self.token_lifetime = token_lifetime
        self.record_bodies = record_bodies
        self.base_url = ""
        self.crashes: list[str] = []  # tracebacks of emulator bugs (answered 500)
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Integration, float]] = {}
        self._paused: set[Integration] = set()
        self._requests: list[Request] = []
        self._revoke_after: int | None = None

    # Where it is and how to reach it ---------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def auth_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def env(self) -> dict[str, str]:
        """The environment variables that point the pipeline at this emulator."""
        out = {API_URL_ENV: self.api_url, AUTH_URL_ENV: self.auth_url}
        for integration, creds in self.credentials.items():
            out[integration.client_id_env] = creds.client_id
            out[integration.client_secret_env] = creds.client_secret
        return out

    # Knobs ----------------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> None:
        with self._lock:
            self._faults = replace(faults or self._faults, **changes)
            self._rng = random.Random(self._faults.seed)

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (as after expiry)."""
        with self._lock:
            self._tokens.clear()

    def revoke_tokens_after(self, requests: int) -> None:
        """Revoke every token once `requests` more API requests have been answered."""
        with self._lock:
            self._revoke_after = requests

    def pause(self, integration: Integration, paused: bool = True) -> None:
        """A paused integration (or a blocked IP) gets no token and its tokens are refused."""
        with self._lock:
            (self._paused.add if paused else self._paused.discard)(integration)

    # The record -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def writes(self) -> int:
        """API requests that could change something (anything but GET), answered or not."""
        return sum(r.is_write for r in self.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # Serving --------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Reply:
        split = urlsplit(target)
        path = unquote(split.path)
        is_token = path == TOKEN_PATH
        with self._lock:
            fault = self._faults.pick(self._rng, f"{method} {path}")
            faults = self._faults
        if is_token and not faults.include_token:
            fault = None
        reply = self._faulty(fault, faults)
        if reply is None:
            if fault == "slow":
                time.sleep(faults.slow_seconds)
            try:
                reply = self._route(method, path, split.query, headers, body)
            except Exception:  # an emulator bug: answer like Listrak would, keep the trace
                self.crashes.append(traceback.format_exc())
                reply = _Reply(*error(500, "ERROR_UNHANDLED_EXCEPTION", "Unhandled exception."))
            if fault == "drop_after":
                reply = _Reply(drop=True)
        self._record(method, path, split.query, headers, body, reply, fault)
        return reply

    def _faulty(self, fault: str | None, faults: Faults) -> _Reply | None:
        if fault == "drop":
            return _Reply(drop=True)
        if fault == "429":
            reply = _Reply(*error(429, "ERROR_TOO_MANY_REQUESTS", "Too many requests."))
            if faults.retry_after is not None:
                reply.headers["Retry-After"] = str(faults.retry_after)
            return reply
        if fault == "500":
            return _Reply(*error(500, "ERROR_UNHANDLED_EXCEPTION", "Unhandled exception."))
        return None

    def _record(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        reply: _Reply,
        fault: str | None,
    ) -> None:
        response = None if reply.drop else json.dumps(reply.body).encode()
        entry = Request(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body if self.record_bodies else None,
            status=None if reply.drop else reply.status,
            fault=fault,
            response=response if self.record_bodies else None,
        )
        with self._lock:
            self._requests.append(entry)
            if path != TOKEN_PATH and self._revoke_after is not None:
                self._revoke_after -= 1
                if self._revoke_after <= 0:
                    self._tokens.clear()
                    self._revoke_after = None

    def _route(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> _Reply:
        if path == TOKEN_PATH:
            return self._token(method, headers, body)
        for integration in Integration:
            if path.startswith(integration.prefix + "/") or path == integration.prefix:
                refused = self._authorize(integration, headers)
                if refused:
                    return refused
                params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
                sub = path[len(integration.prefix) :]
                parsed = self._json_body(method, headers, body)
                if isinstance(parsed, _Reply):
                    return parsed
                backend = self.email if integration is Integration.EMAIL else self.sms
                return _Reply(*backend.handle(method, sub, params, parsed))
        return _Reply(*error(404, "ERROR_UNKNOWN_ROUTE", "The requested route does not exist."))

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> _Reply:
        if method != "POST":
            return _Reply(405, {"error": "Method Not Allowed"})
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _Reply(400, {"error": "Invalid Request"})
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _Reply(400, {"error": "unsupported_grant_type"})
        for integration, creds in self.credentials.items():
            if (
                secrets.compare_digest(form.get("client_id", ""), creds.client_id)
                and secrets.compare_digest(form.get("client_secret", ""), creds.client_secret)
                and integration not in self._paused
            ):
                token = secrets.token_urlsafe(320)
                with self._lock:
                    self._tokens[token] = (integration, time.monotonic() + self.token_lifetime)
                return _Reply(
                    200,
                    {
                        "access_token": token,
                        "token_type": "bearer",
                        "expires_in": self.token_lifetime,
                    },
                    {"Content-Type": "application/json;charset=UTF-8"},
                )
        # Listrak's answer for a wrong id or secret, a blocked IP and a paused integration.
        return _Reply(400, {"error": "Invalid Credentials"})

    def _authorize(self, integration: Integration, headers: dict[str, str]) -> _Reply | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        with self._lock:
            issued = self._tokens.get(token) if scheme.lower() == "bearer" else None
            paused = integration in self._paused
        if issued and issued[0] is integration and time.monotonic() < issued[1] and not paused:
            return None
        return _Reply(
            *error(401, "ERROR_UNAUTHORIZED", "Authorization was denied for this request.")
        )

    @staticmethod
    def _json_body(method: str, headers: dict[str, str], body: bytes) -> Json | None | _Reply:
        if method not in ("POST", "PUT"):
            return None
        if not body:
            return None
        if not headers.get("content-type", "").startswith("application/json"):
            return _Reply(
                *error(
                    415,
                    "ERROR_UNSUPPORTED_CONTENT_TYPE",
                    "The request's content type is not supported; use application/json.",
                )
            )
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _Reply(*malformed_body())

    # Summary for people ---------------------------------------------------------------------

    def summary(self) -> str:
        """What the emulator saw and holds now, in a few lines."""
        requests = self.requests
        lines = [
            f"Listrak emulator: {len(requests)} requests "
            f"({sum(r.api == 'auth' for r in requests)} token, {self.writes} writes, "
            f"{sum(r.fault is not None for r in requests)} with injected faults)"
        ]
        with self.email.lock:
            for item in self.email.lists.values():
                subscribed = sum(c.subscribed for c in item.contacts.values())
                lines.append(
                    f"  list {item.name!r} (id {item.list_id}): {subscribed} subscribed, "
                    f"{len(item.contacts) - subscribed} unsubscribed, "
                    f"{len(item.imports)} list imports"
                )
                for f in item.fields.values():
                    if f.data_type == "CheckBox":
                        on = sum(c.values.get(f.field_id) == "on" for c in item.contacts.values())
                        group = item.groups[f.group_id].name
                        lines.append(f"    {group} / {f.name}: {on} contacts on")
        with self.sms.lock:
            for code in self.sms.sender_codes.values():
                for phone_list in code.lists.values():
                    on = sum(
                        c.lists.get(phone_list.phone_list_id) == "Subscribed"
                        for c in code.contacts.values()
                    )
                    lines.append(
                        f"  sender code {code.code!r} phone list {phone_list.name!r} "
                        f"(id {phone_list.phone_list_id}): {on} subscribed"
                    )
        return "\n".join(lines)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or go away mid-answer are part of the game, not errors.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can pool connections
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server
    timeout = 60  # idle keep-alive connections are closed after this

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the request record is the log

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._send(_Reply(*error(404, "ERROR_UNKNOWN_ROUTE", "The request is too large.")))
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.emulator.answer(method, self.path, headers, body)
        if reply.drop:
            self.close_connection = True  # closed without a word
            return
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {
            "Content-Type": _JSON,
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Expires": "-1",
            **reply.headers,
            "Content-Length": str(len(payload)),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _fake_credentials() -> dict[Integration, Credentials]:
    return {
        i: Credentials(i, f"emulator-{i.value}-{secrets.token_hex(4)}", secrets.token_urlsafe(24))
        for i in Integration
    }


@contextmanager
def run_emulator(
    *,
    lists: Sequence[str] = DEFAULT_LISTS,
    sender_code: str = DEFAULT_SENDER_CODE,
    phone_lists: Sequence[str] = DEFAULT_PHONE_LISTS,
    faults: Faults | None = None,
    port: int = 0,
    token_lifetime: int = 3599,
    import_delay: float = 0.0,
    record_bodies: bool = True,
    credentials: dict[Integration, Credentials] | None = None,
) -> Iterator[Emulator]:
    """Start an emulator on 127.0.0.1 (a free port unless `port` is given) with the named
    email lists, the SMS sender code and its phone lists already there; stop it on exit."""
    email = EmailBackend(import_delay=import_delay)
    for name in lists:
        email.create_list(name)
    sms = SmsBackend()
    code = sms.create_sender_code(sender_code)
    for name in phone_lists:
        sms.create_phone_list(code.sender_code_id, name)
    emulator = Emulator(
        credentials or _fake_credentials(),
        faults or Faults(),
        email,
        token_lifetime,
        record_bodies,
        sms,
    )
    server = _Server(("127.0.0.1", port), _Handler)
    server.emulator = emulator
    emulator.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="listrak-emulator", daemon=True
    )
    thread.start()
    try:
        yield emulator
    finally:
        server.shutdown()
        server.server_close()
        email.stop()
        thread.join(timeout=5)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted, or run a command against the emulator and report."""
    parser = argparse.ArgumentParser(
        prog="python -m listrak_assets.sandbox.emulator",
        description="A local Listrak emulator for trying the pipeline without an account.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    parser.add_argument(
        "--list",
        dest="lists",
        action="append",
        help=f"an email list to create (repeatable; default {', '.join(DEFAULT_LISTS)})",
    )
    parser.add_argument("--throttle", type=float, default=0.0, help="share of 429 answers")
    parser.add_argument("--errors", type=float, default=0.0, help="share of 500 answers")
    parser.add_argument("--drops", type=float, default=0.0, help="share of dropped connections")
    parser.add_argument("--slow", type=float, default=0.0, help="share of slow answers")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--import-delay", type=float, default=0.0, help="seconds per list import")
    add_command_arguments(parser, configured_by=API_URL_ENV, stand_in="emulator")
    args = parser.parse_args(argv)
    command = command_of(args)
    if already_configured(args, API_URL_ENV):
        return subprocess.call(command)
    faults = Faults(
        throttle=args.throttle,
        errors=args.errors,
        drops=args.drops,
        slow=args.slow,
        slow_seconds=args.slow_seconds,
    )
    with run_emulator(
        lists=args.lists or DEFAULT_LISTS,
        faults=faults,
        port=args.port,
        import_delay=args.import_delay,
        record_bodies=False,
    ) as emulator:
        if command:
            print(f"Listrak emulator at {emulator.base_url}", file=sys.stderr, flush=True)
            code = run_with(command, emulator.env())
            print("\n" + emulator.summary(), flush=True)
            return code
        print(f"Listrak emulator at {emulator.base_url}; point the pipeline at it with:\n")
        print_exports(emulator.env())
        print("\nCtrl-C stops it (its state is kept in memory only).", flush=True)
        wait_for_ctrl_c()
        print("\n" + emulator.summary())
        return 0


if __name__ == "__main__":
    sys.exit(main())
