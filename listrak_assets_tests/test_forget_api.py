"""The Privacy API client against the emulator (requests checked against Listrak's privacy
Swagger when each test ends), its rate limit, and whose credentials it uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from listrak_assets.defs.resources import ListrakPrivacyApi
from listrak_assets.listrak.auth import Credentials, Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.errors import ListrakAuthError, ListrakNotFound
from listrak_assets.listrak.forget import ForgetApi, RateLimiter
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.sandbox.sms_backend import SmsContact
from listrak_assets_tests.listrak_fixtures import FAST_RETRY

NO_LIMIT = ((10**6, 1.0),)


@contextmanager
def forget_api(
    emulator: Emulator, integration: Integration = Integration.PRIVACY
) -> Iterator[ForgetApi]:
    """A Privacy API client logging in with `integration`'s id and secret."""
    options = ClientOptions(
        api_url=emulator.api_url, auth_url=emulator.auth_url, retry=FAST_RETRY, seed=1
    )
    own = emulator.credentials[integration]
    creds = Credentials(Integration.PRIVACY, own.client_id, own.client_secret)
    with connect(creds, options) as http:
        yield ForgetApi(http, RateLimiter(NO_LIMIT))


def _posts(emulator: Emulator) -> list[str]:
    return [r.path for r in emulator.requests if r.method == "POST" and r.api == "privacy"]


def test_a_request_is_processing_until_its_time_then_complete(emulator: Emulator) -> None:
    emulator.privacy.checks_until_complete = 2
    with forget_api(emulator) as api:
        request_id = api.submit("gone@example.org", "12158880142")
        first, second, third = (api.status(request_id) for _ in range(3))
    assert (first.status, second.status, third.status) == ("PROCESSING", "PROCESSING", "COMPLETE")
    assert first.processed is None and third.processed is not None
    assert third.request_id == request_id
    [record] = emulator.privacy.forgets.values()
    assert (record.email, record.phone) == ("gone@example.org", "12158880142")
    assert _posts(emulator) == ["/privacy/v1/Forget"]


def test_email_only_and_phone_only_requests(emulator: Emulator) -> None:
    with forget_api(emulator) as api:
        api.submit("only@example.org", None)
        api.submit(None, "447911123456")
        with pytest.raises(ValueError):
            api.submit(None, None)
    records = [(r.email, r.phone) for r in emulator.privacy.forgets.values()]
    assert records == [("only@example.org", None), (None, "447911123456")]


def test_an_unknown_request_id_is_not_found(emulator: Emulator) -> None:
    with forget_api(emulator) as api, pytest.raises(ListrakNotFound):
        api.status("00000000-0000-4000-8000-000000000000")


def test_an_email_token_is_refused_by_the_privacy_api(emulator: Emulator) -> None:
    with forget_api(emulator, Integration.EMAIL) as api, pytest.raises(ListrakAuthError):
        api.submit("gone@example.org", None)
    assert not emulator.privacy.forgets


def test_the_rate_limiter_keeps_both_published_windows() -> None:
    """20 requests per 10 s and 60 per minute: on a fake clock, the 21st call waits for the
    first to leave the 10 s window, the 61st for the first to leave the minute."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(61):
        limiter.acquire()
        times.append(now[0])
    assert times[:20] == [0.0] * 20
    assert times[20] == pytest.approx(10.0)
    # Never more than 20 in any 10 s, nor 60 in any 60 s.
    for i, start in enumerate(times):
        assert sum(start <= t < start + 10 for t in times[i:]) <= 20
        assert sum(start <= t < start + 60 for t in times[i:]) <= 60
    assert times[60] == pytest.approx(60.0)


def test_without_privacy_credentials_the_email_integrations_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("LISTRAK_PRIVACY_CLIENT_ID", "LISTRAK_PRIVACY_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LISTRAK_EMAIL_CLIENT_ID", "email-id")
    monkeypatch.setenv("LISTRAK_EMAIL_CLIENT_SECRET", "email-secret")
    creds = ListrakPrivacyApi.from_env().process_config_and_initialize().credentials()
    assert (creds.integration, creds.client_id) == (Integration.PRIVACY, "email-id")
    monkeypatch.setenv("LISTRAK_PRIVACY_CLIENT_ID", "privacy-id")
    monkeypatch.setenv("LISTRAK_PRIVACY_CLIENT_SECRET", "privacy-secret")
    creds = ListrakPrivacyApi.from_env().process_config_and_initialize().credentials()
    assert (creds.client_id, creds.client_secret) == ("privacy-id", "privacy-secret")
    # Set after the code loaded: read when the run starts, privacy first.
    assert ListrakPrivacyApi().credentials().client_id == "privacy-id"


def test_a_completed_request_removes_the_person_from_the_lists(emulator: Emulator) -> None:
    """Listrak forgets the contact everywhere once the request is COMPLETE, not before."""
    emulator.privacy.checks_until_complete = 1
    emulator.email.seed_contact("Newsletter", "Gone@example.org")
    emulator.email.seed_contact("Newsletter", "stays@example.org")
    [code] = emulator.sms.sender_codes.values()
    [phone_list] = code.lists
    for phone in ("12158880142", "12158880199"):
        code.contacts[phone] = SmsContact(phone, lists={phone_list: "Subscribed"})
    # Their email in another SMS contact's profile: that contact is theirs too.
    code.contacts["12158880143"] = SmsContact(
        "12158880143", profile={"emailAddress": "gone@example.org"}
    )

    def members() -> tuple[set[str], set[str]]:
        emails = set(emulator.email.list_named("Newsletter").contacts)
        return emails, set(code.contacts)

    with forget_api(emulator) as api:
        request_id = api.submit("gone@example.org", "12158880142")
        assert api.status(request_id).status == "PROCESSING"
        assert members() == (
            {"gone@example.org", "stays@example.org"},
            {"12158880142", "12158880199", "12158880143"},
        )
        assert api.status(request_id).status == "COMPLETE"
    assert members() == ({"stays@example.org"}, {"12158880199"})
    assert emulator.email.list_named("Newsletter").order == ["stays@example.org"]
