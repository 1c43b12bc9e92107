"""The Listrak REST client over real HTTP against the emulator: tokens, retries, typed errors
and paging. Backoff is in milliseconds and recorded, never measured."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from listrak_assets.listrak.auth import Credentials, Integration, TokenProvider
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.email import EmailApi, FileMapping, ImportFile
from listrak_assets.listrak.errors import (
    ListNotFound,
    ListrakApiError,
    ListrakAuthError,
    ListrakConfigError,
    ListrakUnavailable,
    OutcomeUnknown,
)
from listrak_assets.listrak.http import RetryPolicy, Sender, Stats, retry_after_seconds
from listrak_assets.sandbox.emulator import Emulator, Faults
from listrak_assets_tests.listrak_fixtures import FAST_RETRY, OpenApi


def _api_requests(emulator: Emulator, method: str, fragment: str) -> int:
    return sum(r.method == method and fragment in r.path for r in emulator.requests)


def _tokens(emulator: Emulator) -> int:
    return sum(r.api == "auth" for r in emulator.requests)


# Tokens ----------------------------------------------------------------------------------------


def test_one_token_serves_many_calls(emulator: Emulator, email_api: OpenApi) -> None:
    with email_api() as api:
        for _ in range(3):
            api.lists()
    assert _tokens(emulator) == 1
    [token_request] = [r for r in emulator.requests if r.api == "auth"]
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"


def test_token_is_renewed_shortly_before_it_expires(emulator: Emulator) -> None:
    now = [1000.0]
    creds = emulator.credentials[Integration.EMAIL]
    with httpx.Client() as client:
        sender = Sender(client, FAST_RETRY, Stats())
        tokens = TokenProvider(creds, emulator.auth_url, sender, clock=lambda: now[0])
        first = tokens.token()
        now[0] += 3599 - 61  # just before the early-refresh margin (60 s)
        assert tokens.token() == first
        now[0] += 2
        assert tokens.token() != first
    assert sender.stats.token_requests == 2


def test_bad_credentials_say_what_to_check_and_are_not_retried(
    emulator: Emulator, email_api: OpenApi
) -> None:
    wrong = Credentials(Integration.EMAIL, "someone", "not-the-secret")
    with pytest.raises(ListrakAuthError) as caught, email_api(credentials=wrong) as api:
        api.lists()
    message = str(caught.value)
    assert "Invalid Credentials" in message
    assert "allowlist" in message and "client id/secret" in message
    assert "not-the-secret" not in message
    assert _tokens(emulator) == 1  # a 400 is a verdict


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(ListrakConfigError) as caught:
        Credentials.of(Integration.EMAIL, "id", None)
    assert "LISTRAK_EMAIL_CLIENT_SECRET" in str(caught.value)
    assert "LISTRAK_EMAIL_CLIENT_ID" not in str(caught.value)


def test_a_401_gets_a_new_token_and_one_retry(emulator: Emulator, email_api: OpenApi) -> None:
    stats = Stats()
    with email_api(stats=stats) as api:
        api.lists()
        emulator.revoke_tokens()  # as when a token expires mid-run
        assert [x.name for x in api.lists()] == ["Newsletter"]
    assert stats.reauthentications == 1
    assert _tokens(emulator) == 2
    assert [r.status for r in emulator.requests if r.api == "email"] == [200, 401, 200]


def test_a_paused_integration_fails_with_the_allowlist_hint(
    emulator: Emulator, email_api: OpenApi
) -> None:
    with email_api() as api:
        api.lists()
        emulator.pause(Integration.EMAIL)
        with pytest.raises(ListrakAuthError) as caught:
            api.lists()
    assert "allowlist" in str(caught.value)
    # One 401, one refused token request, no loop.
    assert [r.status for r in emulator.requests][-2:] == [401, 400]


def test_an_sms_token_is_refused_by_the_email_api(emulator: Emulator, email_api: OpenApi) -> None:
    # The SMS integration's id and secret put where the Email ones belong.
    sms = emulator.credentials[Integration.SMS]
    misplaced = Credentials(Integration.EMAIL, sms.client_id, sms.client_secret)
    with pytest.raises(ListrakAuthError) as caught, email_api(credentials=misplaced) as api:
        api.lists()
    assert "refused twice with 401 ERROR_UNAUTHORIZED" in str(caught.value)
    assert _api_requests(emulator, "GET", "/email/v1/List") == 2


# Typed errors ----------------------------------------------------------------------------------


def test_an_unknown_list_name_lists_the_names_that_exist(
    emulator: Emulator, email_api: OpenApi
) -> None:
    emulator.email.create_list("VIP")
    with pytest.raises(ListNotFound) as caught, email_api() as api:
        api.find_list("Newsleter")
    message = str(caught.value)
    assert "'Newsleter'" in message and "'Newsletter', 'VIP'" in message
    assert "never created" in message
    assert emulator.writes == 0


def test_listrak_messages_are_quoted_without_email_addresses(
    emulator: Emulator, email_api: OpenApi
) -> None:
    emulator.email.seed_contact("Newsletter", "gone@example.com", subscribed=False)
    with email_api() as api:
        list_id = api.find_list("Newsletter").list_id
        with pytest.raises(ListrakApiError) as caught:
            api.upsert_contact(list_id, "gone@example.com")
    assert caught.value.code == "ERROR_UNSUBSCRIBED_EMAIL_ADDRESS"
    assert "gone@example.com" not in str(caught.value)
    assert "g***@***" in str(caught.value)


def test_a_400_is_never_retried(emulator: Emulator, email_api: OpenApi) -> None:
    emulator.set_faults(errors=0.0)
    with email_api() as api:
        list_id = api.find_list("Newsletter").list_id
        api.create_field_group(list_id, "Group", 1)
        with pytest.raises(ListrakApiError) as caught:
            api.create_field_group(list_id, "group", 2)  # names are unique, whatever the case
    assert caught.value.status == 400 and caught.value.code == "ERROR_INVALID_PARAMETER"
    assert _api_requests(emulator, "POST", "/SegmentationFieldGroup") == 2


# Retries ---------------------------------------------------------------------------------------


def _client(emulator: Emulator, retry: RetryPolicy, waits: list[float], read: float = 10.0):  # noqa: ANN202
    from listrak_assets.listrak.http import Timeouts

    options = ClientOptions(
        api_url=emulator.api_url,
        auth_url=emulator.auth_url,
        retry=retry,
        timeouts=Timeouts(connect=5, read=read, write=30, pool=5),
        seed=3,
    )
    return connect(emulator.credentials[Integration.EMAIL], options, sleep=waits.append)


@pytest.mark.parametrize(
    ("faults", "status"),
    [
        (Faults(throttle=1.0, match="GET /email/v1/List$"), "429"),
        (Faults(errors=1.0, match="GET /email/v1/List$"), "500"),
        (Faults(drops=1.0, match="GET /email/v1/List$"), "RemoteProtocolError"),
    ],
    ids=["429", "500", "dropped"],
)
def test_retryable_failures_back_off_then_give_up(
    emulator: Emulator, faults: Faults, status: str
) -> None:
    emulator.set_faults(faults)
    waits: list[float] = []
    retry = RetryPolicy(attempts=4, base_delay=0.004, max_delay=0.01)
    with pytest.raises(ListrakUnavailable) as caught, _client(emulator, retry, waits) as http:
        EmailApi(http).lists()
    assert f"after 4 attempts (last: {status}" in str(caught.value)
    assert _api_requests(emulator, "GET", "/email/v1/List") == 4
    # Exponential with jitter: each wait within [backoff/2, backoff], capped at max_delay.
    assert len(waits) == 3
    for retry_number, wait in enumerate(waits, start=1):
        backoff = min(0.01, 0.004 * 2 ** (retry_number - 1))
        assert backoff / 2 <= wait <= backoff


def test_retry_after_is_honoured(emulator: Emulator) -> None:
    emulator.set_faults(throttle=1.0, retry_after=7, match="GET /email/v1/List$")
    waits: list[float] = []
    retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)
    with pytest.raises(ListrakUnavailable), _client(emulator, retry, waits) as http:
        EmailApi(http).lists()
    assert waits == [7.0, 7.0]


def test_some_failures_then_success(emulator: Emulator) -> None:
    emulator.set_faults(throttle=0.2, errors=0.2, drops=0.1, seed=5)
    waits: list[float] = []
    with _client(emulator, FAST_RETRY, waits) as http:
        for _ in range(10):
            assert [x.name for x in EmailApi(http).lists()] == ["Newsletter"]
        assert http.stats.retries == len(waits) > 0
    assert {r.fault for r in emulator.requests} >= {"429", "500", "drop"}


def test_a_slow_answer_times_out_and_is_retried(emulator: Emulator) -> None:
    emulator.set_faults(slow=1.0, slow_seconds=1.0, match="GET /email/v1/List$")
    waits: list[float] = []
    retry = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.001)
    with pytest.raises(ListrakUnavailable) as caught, _client(emulator, retry, waits, 0.05) as http:
        EmailApi(http).lists()
    assert "ReadTimeout" in str(caught.value)
    assert len(waits) == 1


def test_a_lost_answer_to_a_create_is_looked_up_not_repeated(emulator: Emulator) -> None:
    # The group is created, then the connection drops before the answer.
    emulator.set_faults(drops_after=1.0, match="POST .*/SegmentationFieldGroup$")
    with _client(emulator, FAST_RETRY, []) as http:
        api = EmailApi(http)
        list_id = api.find_list("Newsletter").list_id
        with pytest.raises(OutcomeUnknown):
            api.create_field_group(list_id, "Attributes", 1)
        group, created = api.find_or_create_group(list_id, "Attributes")
    assert not created
    assert [g.name for g in emulator.email.lists[list_id].groups.values()] == ["Attributes"]
    assert group.group_id in emulator.email.lists[list_id].groups


@pytest.mark.parametrize("kind", ["500_after", "drop_after", "slow"])
def test_a_create_answered_after_it_was_applied_is_looked_up_not_resent(
    emulator: Emulator, kind: str
) -> None:
    # Listrak applies the create, then answers 500, drops the connection or answers after the
    # client gave up: the client must not send the create again, only look for it.
    emulator.set_faults(Faults.of(kind, 1.0, slow_seconds=0.3, match="POST .*/SegmentationField"))
    with _client(emulator, FAST_RETRY, [], read=0.1) as http:
        api = EmailApi(http)
        list_id = api.find_list("Newsletter").list_id
        group, group_created = api.find_or_create_group(list_id, "Attributes")
        field, field_created = api.membership_field(list_id, group, "Member")
    assert not group_created and not field_created  # found, after the lost answers
    item = emulator.email.lists[list_id]
    assert [g.name for g in item.groups.values()] == ["Attributes"]
    assert [f.name for f in item.fields.values()] == ["Member"]
    assert field is not None and field.field_id in item.fields
    creates = [r for r in emulator.requests if r.method == "POST" and "Segmentation" in r.path]
    assert len(creates) == 2  # one per group and field: never resent
    assert all(r.fault == kind for r in creates)


def test_a_create_refused_with_429_is_sent_again(emulator: Emulator) -> None:
    # A 429 is refused before anything happens: sending again is safe and needs no lookup.
    emulator.set_faults(throttle=1.0, match="POST .*/SegmentationFieldGroup$")
    retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.001)
    with pytest.raises(ListrakUnavailable) as caught, _client(emulator, retry, []) as http:
        api = EmailApi(http)
        api.create_field_group(api.find_list("Newsletter").list_id, "G", 1)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert _api_requests(emulator, "POST", "SegmentationFieldGroup") == 3


def test_a_500_before_the_create_applied_is_looked_up_then_created_once(
    emulator: Emulator,
) -> None:
    emulator.set_faults(errors=1.0, match="POST .*/SegmentationFieldGroup$")
    with _client(emulator, FAST_RETRY, []) as http:
        api = EmailApi(http)
        list_id = api.find_list("Newsletter").list_id
        with pytest.raises(OutcomeUnknown) as caught:
            api.find_or_create_group(list_id, "Attributes")
        emulator.set_faults(Faults())
        group, created = api.find_or_create_group(list_id, "Attributes")
    assert created and list(emulator.email.lists[list_id].groups) == [group.group_id]
    assert "POST" in str(caught.value) and "500" in str(caught.value)
    # Each failed create was followed by a lookup before the next one.
    lines = [
        f"{r.method} {r.path.rsplit('/', 1)[-1]}" for r in emulator.requests if r.api != "auth"
    ]
    posts = [i for i, line in enumerate(lines) if line.startswith("POST")]
    assert all(lines[i - 1].startswith("GET") for i in posts)


@pytest.mark.parametrize("kind", ["500_after", "drop_after", "slow"])
def test_an_import_whose_start_was_lost_is_found_not_started_twice(
    emulator: Emulator, kind: str
) -> None:
    emulator.set_faults(Faults.of(kind, 1.0, slow_seconds=0.3, match="POST .*/ListImport$"))
    file = ImportFile("once.csv", b"email\na@example.com\n", (FileMapping(0, "Email"),))
    with _client(emulator, FAST_RETRY, [], read=0.1) as http:
        api = EmailApi(http)
        list_id = api.find_list("Newsletter").list_id
        import_id = api.start_import(list_id, file)
    imports = emulator.email.lists[list_id].imports
    assert list(imports) == [int(import_id)]
    assert _api_requests(emulator, "POST", "/ListImport") == 1


def test_retry_after_dates_and_seconds() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    for header, seconds in (("12", 12.0), (later, 30.0), ("soon", None)):
        response = httpx.Response(429, headers={"Retry-After": header})
        assert retry_after_seconds(response, lambda: now) == seconds
    assert retry_after_seconds(httpx.Response(429), lambda: now) is None


def test_backoff_is_bounded() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60.0)
    rng = random.Random(0)
    for retry in range(1, 12):
        cap = min(8.0, 2 ** (retry - 1))
        assert cap / 2 <= policy.delay(retry, None, rng) <= cap
    assert policy.delay(1, 3600.0, rng) == 60.0


# Paging ----------------------------------------------------------------------------------------


def test_contacts_are_read_page_by_page_with_their_fields(
    emulator: Emulator, email_api: OpenApi
) -> None:
    with email_api() as api:
        target = api.find_list("Newsletter")
        group, _ = api.find_or_create_group(target.list_id, "G")
        flag, _ = api.membership_field(target.list_id, group, "Member")
        assert flag is not None
        emails = [f"c{i:02d}@example.com" for i in range(12)]
        for i, email in enumerate(emails):
            api.upsert_contact(target.list_id, email, {flag.field_id: "on" if i % 2 else "off"})
        read = list(api.contacts(target.list_id, (flag.field_id,), count=5))
    assert [c["emailAddress"] for c in read] == emails
    assert [c["segmentationFieldValues"][0]["value"] for c in read] == ["off", "on"] * 6
    pages = [r for r in emulator.requests if r.method == "GET" and r.path.endswith("/Contact")]
    assert len(pages) == 3
    assert "cursor=Start" in pages[0].query and "count=5" in pages[0].query
