"""A local Listrak: a real HTTP server on 127.0.0.1 that keeps its state in memory.

It serves the token endpoint (one set of credentials per integration) and the Email API routes
the pipeline uses, with Listrak's envelopes, status codes and error codes, and can be told to
answer some requests with 429s, 500s (before or after applying them), slow answers, dropped
connections (before or after applying them) or expired tokens (`Faults`, `FAULT_KINDS`, seeded
so a case is reproducible). Tests and the demo start it with `run_emulator()`; on its own:

    python -m listrak_assets.sandbox.emulator                 # prints the variables to export
    python -m listrak_assets.sandbox.emulator -- COMMAND ...  # runs COMMAND against it

The SMS API's routes for the SMS audience are served too (`sms_backend.py`), and the Privacy
API's Forget requests (`privacy_backend.py`), each with their own credentials and tokens: a
token of one integration is refused by the others.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import secrets
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
from listrak_assets.sandbox.privacy_backend import ForgetRecord, PrivacyBackend
from listrak_assets.sandbox.sms_backend import SmsBackend

TOKEN_PATH = "/OAuth2/Token"
# The emulator's own record, for a test that runs it in another process (not a Listrak route).
RECORD_PATH = "/_emulator/requests"
MAX_BODY = 262_144_000  # Listrak's 250 MB request limit; larger bodies get a 404 like Data's
DEFAULT_LISTS = ("Newsletter",)
DEFAULT_SENDER_CODE = "12345"
DEFAULT_PHONE_LISTS = ("SMS Audience",)
_JSON = "application/json; charset=utf-8"


# Fault kinds by name, and the `Faults` share that selects each.
FAULT_KINDS = {
    "drop": "drops",  # connection closed before the request is handled: nothing applied
    "429": "throttle",  # 429 ERROR_TOO_MANY_REQUESTS, nothing applied
    "500": "errors",  # 500 ERROR_UNHANDLED_EXCEPTION, nothing applied
    "slow": "slow",  # applied, answered after `slow_seconds` (past a short client timeout)
    "drop_after": "drops_after",  # applied, then closed without an answer
    "500_after": "errors_after",  # applied, then answered 500
    "expire": "expire",  # every token expires just before this request: 401, nothing applied
}


@dataclass(frozen=True)
class Faults:
    """Shares of requests (0..1) that go wrong. Each request's fate is drawn from the seed,
    the request line and how many times that line was seen before, so a run meets the same
    faults every time, whatever order concurrent requests arrive in."""

    throttle: float = 0.0
    errors: float = 0.0
    drops: float = 0.0
    drops_after: float = 0.0
    errors_after: float = 0.0
    slow: float = 0.0
    expire: float = 0.0
    slow_seconds: float = 1.0
    retry_after: int | None = None  # `Retry-After` seconds sent with 429s (Listrak sends none)
    include_token: bool = True  # the token endpoint misbehaves too
    match: str = ""  # only requests whose "METHOD /path" matches this regex (empty: all)
    seed: int = 0

    @classmethod
    def of(cls, kind: str, share: float, **options: Any) -> Faults:
        """One kind of fault (a `FAULT_KINDS` name) on `share` of the requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; kinds: {', '.join(FAULT_KINDS)}")
        return cls(**{FAULT_KINDS[kind]: share, **options})

    def pick(self, request: str, occurrence: int) -> str | None:
        """The fault for the `occurrence`-th (1-based) arrival of `request`, or None."""
        if self.match and not re.search(self.match, request):
            return None
        draw = random.Random(f"{self.seed}|{request}|{occurrence}").random()
        for name, attr in FAULT_KINDS.items():
            share = getattr(self, attr)
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
        """`auth`, `email`, `sms`, `privacy` or `other`."""
        if self.path == TOKEN_PATH:
            return "auth"
        return next((i.value for i in Integration if self.path.startswith(i.prefix)), "other")

    @property
    def is_write(self) -> bool:
        return self.api in ("email", "sms", "privacy") and self.method != "GET"


@dataclass
class _Reply:
    status: int = 200
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0  # seconds to wait before answering


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
        privacy: PrivacyBackend | None = None,
    ) -> None:
        self.credentials = credentials
        self.email = email
        self.sms = sms or SmsBackend()
        self.privacy = privacy or PrivacyBackend()
        self.privacy.on_complete = self._forgotten
        self.token_lifetime = token_lifetime
        self.record_bodies = record_bodies
        self.base_url = ""
        self.crashes: list[str] = []  # tracebacks of emulator bugs (answered 500)
        self._faults = faults
        self._seen: dict[str, int] = {}  # arrivals per request line, for the fault draws
        self._used_tokens: set[str] = set()  # tokens that were accepted at least once
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Integration, float]] = {}
        self._paused: set[Integration] = set()
        self._requests: list[Request] = []
        self._revoke_after: int | None = None

    def _forgotten(self, record: ForgetRecord) -> None:
        """A Forget request completed: the person leaves the email lists and the SMS
        contacts, as they would in Listrak."""
        if record.email:
            self.email.forget(record.email)
        self.sms.forget(record.phone, record.email)

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
            self._seen.clear()

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
        line = f"{method} {path}"
        with self._lock:
            occurrence = self._seen[line] = self._seen.get(line, 0) + 1
            faults = self._faults
        fault = None if path == RECORD_PATH else faults.pick(line, occurrence)
        if is_token and (not faults.include_token or fault == "expire"):
            fault = None
        if fault == "expire" and not self._expire(headers):
            fault = None
        reply = self._faulty(fault, faults)
        if reply is None:
            try:
                reply = self._route(method, path, split.query, headers, body)
            except Exception:  # an emulator bug: answer like Listrak would, keep the trace
                self.crashes.append(traceback.format_exc())
                reply = _Reply(*error(500, "ERROR_UNHANDLED_EXCEPTION", "Unhandled exception."))
            if fault == "slow":
                reply.delay = faults.slow_seconds  # applied; the answer comes late
            elif fault == "drop_after":
                reply = _Reply(drop=True)
            elif fault == "500_after":
                reply = _Reply(*error(500, "ERROR_UNHANDLED_EXCEPTION", "Unhandled exception."))
        self._record(method, path, split.query, headers, body, reply, fault)
        return reply

    def _expire(self, headers: dict[str, str]) -> bool:
        """Expire every token now, if this request's token has served before (a token
        fresh from the endpoint lives for at least one request, as a real one would)."""
        token = headers.get("authorization", "").partition(" ")[2]
        with self._lock:
            if token not in self._used_tokens:
                return False
            self._tokens.clear()
            return True

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
        if path == RECORD_PATH and method == "GET":
            # Every write answered or dropped so far, in order ("METHOD /path").
            writes = [f"{r.method} {r.path}" for r in self.requests if r.is_write]
            return _Reply(200, {"requests": len(self.requests), "writes": writes})
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
                backends = {
                    Integration.EMAIL: self.email,
                    Integration.SMS: self.sms,
                    Integration.PRIVACY: self.privacy,
                }
                return _Reply(*backends[integration].handle(method, sub, params, parsed))
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
            with self._lock:
                self._used_tokens.add(token)
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
        if reply.delay:
            time.sleep(reply.delay)
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
    faults = parser.add_argument_group(
        "faults", "shares (0..1) of requests that go wrong; the same seed gives the same faults"
    )
    faults.add_argument("--throttle", type=float, default=0.0, help="429, nothing applied")
    faults.add_argument("--errors", type=float, default=0.0, help="500, nothing applied")
    faults.add_argument("--errors-after", type=float, default=0.0, help="applied, then 500")
    faults.add_argument("--drops", type=float, default=0.0, help="dropped, nothing applied")
    faults.add_argument(
        "--drops-after", type=float, default=0.0, help="applied, then dropped without an answer"
    )
    faults.add_argument("--slow", type=float, default=0.0, help="applied, answered late")
    faults.add_argument("--slow-seconds", type=float, default=2.0)
    faults.add_argument(
        "--expire", type=float, default=0.0, help="tokens expire before the request: 401"
    )
    faults.add_argument("--retry-after", type=int, default=None, help="seconds sent with 429s")
    faults.add_argument("--match", default="", help='only requests whose "METHOD /path" match')
    faults.add_argument("--seed", type=int, default=0, help="of the fault draws")
    parser.add_argument("--import-delay", type=float, default=0.0, help="seconds per list import")
    add_command_arguments(parser, configured_by=API_URL_ENV, stand_in="emulator")
    args = parser.parse_args(argv)
    command = command_of(args)
    if already_configured(args, API_URL_ENV):
        return run_with(command, {})
    fault_plan = Faults(
        throttle=args.throttle,
        errors=args.errors,
        errors_after=args.errors_after,
        drops=args.drops,
        drops_after=args.drops_after,
        slow=args.slow,
        slow_seconds=args.slow_seconds,
        expire=args.expire,
        retry_after=args.retry_after,
        match=args.match,
        seed=args.seed,
    )
    with run_emulator(
        lists=args.lists or DEFAULT_LISTS,
        faults=fault_plan,
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
        wait_for_ctrl_c("\nCtrl-C stops it (its state is kept in memory only).")
        print("\n" + emulator.summary())
        return 0


if __name__ == "__main__":
    sys.exit(main())
