"""OAuth2 client-credentials tokens, one per Listrak integration.

Email, SMS and Privacy are separate integrations with their own id and secret; a token of one is
refused by the other, so each API gets its own provider. Tokens last about an hour
(`expires_in` 3599) and are reused until shortly before they expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from listrak_assets.listrak.errors import ListrakAuthError, ListrakConfigError, ListrakUnavailable
from listrak_assets.listrak.http import Sender, parse_body
from listrak_assets.stand_ins import TRY_WITHOUT_ACCOUNT

DEFAULT_AUTH_URL = "https://auth.listrak.com/OAuth2/Token"
DEFAULT_API_URL = "https://api.listrak.com"
AUTH_URL_ENV = "LISTRAK_AUTH_URL"
API_URL_ENV = "LISTRAK_API_URL"


class Integration(StrEnum):
    """A Listrak integration type: its own credentials, token and API prefix."""

    EMAIL = "email"
    SMS = "sms"
    PRIVACY = "privacy"

    @property
    def prefix(self) -> str:
        return f"/{self.value}/v1"

    @property
    def client_id_env(self) -> str:
        return f"LISTRAK_{self.name}_CLIENT_ID"

    @property
    def client_secret_env(self) -> str:
        return f"LISTRAK_{self.name}_CLIENT_SECRET"


@dataclass(frozen=True)
class Credentials:
    """One integration's client id and secret. The secret never shows in a repr."""

    integration: Integration
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def of(cls, integration: Integration, client_id: str | None, secret: str | None) -> Credentials:
        """Both values, or an error naming the environment variable that is missing."""
        missing = [
            name
            for name, value in (
                (integration.client_id_env, client_id),
                (integration.client_secret_env, secret),
            )
            if not value
        ]
        if missing:
            raise ListrakConfigError(
                f"Listrak {integration.value} credentials missing: set {' and '.join(missing)} "
                "(the client id and secret of the integration, from Listrak's Integration "
                f"Management page). {TRY_WITHOUT_ACCOUNT}"
            )
        return cls(integration, str(client_id), str(secret))


class TokenProvider:
    """Fetches and caches a bearer token; thread-safe, refreshes `margin` seconds early."""

    def __init__(
        self,
        credentials: Credentials,
        auth_url: str,
        sender: Sender,
        clock: Callable[[], float] = time.monotonic,
        max_margin: float = 60.0,
    ) -> None:
        self.credentials = credentials
        self.auth_url = auth_url
        self.sender = sender
        self.clock = clock
        self.max_margin = max_margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                # Refresh early: a tenth of the lifetime, at most a minute.
                self._expires_at = self.clock() + lifetime - min(self.max_margin, lifetime / 10)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (Listrak refused it); a newer one fetched meanwhile is kept."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        creds = self.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }

        def build() -> httpx.Request:
            return self.sender.client.build_request(
                "POST", self.auth_url, data=form, headers={"Accept": "application/json"}
            )

        self.sender.stats.add(token_requests=1)
        response = self.sender.send(build, idempotent=True, label="POST token")
        body = parse_body(response)
        integration = creds.integration.value
        if response.status_code == 429 or response.status_code >= 500:
            raise ListrakUnavailable(
                "POST", "token", self.sender.retry.attempts, str(response.status_code)
            )
        if response.status_code != 200:
            # Listrak answers 400 {"error": "Invalid Credentials"} for a wrong id or secret, a
            # blocked IP or a paused integration alike.
            detail = body.get("error") or body.get("message") or response.reason_phrase
            raise ListrakAuthError(
                integration,
                f"the token request was refused ({response.status_code} {detail})",
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ListrakAuthError(integration, "the token response had no access_token")
        try:
            lifetime = float(body.get("expires_in") or 3599)
        except (TypeError, ValueError):
            lifetime = 3599.0
        return token, max(lifetime, 1.0)
