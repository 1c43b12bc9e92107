"""Fixtures for everything that talks to Listrak: an emulator per test on 127.0.0.1, and a
client pointed at it with backoff in milliseconds.

Every request our client sends to an emulator started here is checked against Listrak's
Swagger documents when the test ends (see `contract.py`); a departure fails the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from listrak_assets.listrak.auth import Credentials, Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.email import EmailApi
from listrak_assets.listrak.http import RetryPolicy, Stats, Timeouts
from listrak_assets.sandbox.emulator import Emulator, run_emulator
from listrak_assets_tests import contract

FAST_RETRY = RetryPolicy(attempts=8, base_delay=0.001, max_delay=0.01)


def check_contract(emulator: Emulator) -> None:
    """Fail when a request of ours (or an answer of the emulator) breaks Listrak's contract;
    outside CI, without the documents, there is nothing to check against."""
    reason = contract.spec_missing_reason()
    if reason is not None:
        if contract.required_in_ci():
            pytest.fail(reason)
        return
    problems = contract.violations(emulator.requests)
    if problems:
        shown = "\n".join(sorted(set(problems))[:20])
        pytest.fail(f"{len(problems)} departures from Listrak's Swagger documents:\n{shown}")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with run_emulator() as emu:
        yield emu
        assert not emu.crashes, emu.crashes[0]
        check_contract(emu)


OpenApi = Callable[..., AbstractContextManager[EmailApi]]


@pytest.fixture
def email_api(emulator: Emulator) -> OpenApi:
    """`with email_api() as api:` a client of the emulator's Email API."""

    @contextmanager
    def open_api(
        credentials: Credentials | None = None,
        retry: RetryPolicy = FAST_RETRY,
        stats: Stats | None = None,
        read_timeout: float = 10.0,
    ) -> Iterator[EmailApi]:
        options = ClientOptions(
            api_url=emulator.api_url,
            auth_url=emulator.auth_url,
            retry=retry,
            timeouts=Timeouts(connect=5.0, read=read_timeout, write=30.0, pool=5.0),
            seed=1,
        )
        creds = credentials or emulator.credentials[Integration.EMAIL]
        with connect(creds, options, stats=stats) as http:
            yield EmailApi(http)

    return open_api
