"""Opens one pooled, authenticated connection to one Listrak integration's API."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from listrak_assets.listrak.auth import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    Credentials,
    TokenProvider,
)
from listrak_assets.listrak.http import (
    USER_AGENT,
    ListrakHttp,
    RetryPolicy,
    Sender,
    Stats,
    Timeouts,
)


@dataclass(frozen=True)
class ClientOptions:
    """Where Listrak is and how patiently to talk to it."""

    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_connections: int = 4
    seed: int | None = None  # of the backoff jitter, for reproducible tests


@contextmanager
def connect(
    credentials: Credentials,
    options: ClientOptions | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    stats: Stats | None = None,
) -> Iterator[ListrakHttp]:
    """A `ListrakHttp` for `credentials`' integration; its connections close on exit."""
    options = options or ClientOptions()
    limits = httpx.Limits(
        max_connections=options.max_connections,
        max_keepalive_connections=options.max_connections,
    )
    with httpx.Client(
        timeout=options.timeouts.httpx(),
        limits=limits,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    ) as client:
        sender = Sender(
            client=client,
            retry=options.retry,
            stats=stats or Stats(),
            sleep=sleep,
            rng=random.Random(options.seed),
        )
        tokens = TokenProvider(credentials, options.auth_url, sender)
        yield ListrakHttp(
            sender,
            tokens,
            options.api_url,
            credentials.integration.prefix,
            credentials.integration.value,
        )
