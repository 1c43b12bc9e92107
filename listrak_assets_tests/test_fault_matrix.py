"""The fault matrix: each kind of fault on 30% of the requests (seeded, so each case meets the
same faults every time), for both audiences, through the real sinks (`dg.materialize`) over
real HTTP. The first run's outcome is truthful (success only when everything landed,
otherwise a failure that says what was lost) and after at most one more run Listrak holds
exactly the audience, with no duplicate field group, field or contact."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from listrak_assets.defs import sms_sink
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSmsApi
from listrak_assets.sandbox.emulator import Emulator, Faults
from listrak_assets_tests.conftest import Workspace, failure_messages
from listrak_assets_tests.sink_fixtures import api_resource, materialize
from listrak_assets_tests.test_email_sink import GROUP, KEYS, SEGMENT, addresses, off, on
from listrak_assets_tests.test_sms_sink import KEYS as SMS_KEYS
from listrak_assets_tests.test_sms_sink import members, numbers

SHARE = 0.3
# A late answer comes after the client gave up on it (and after the write was applied).
TIMEOUT = 0.25
SLOW = 0.6
# Per kind, a seed with which the kind meets at least one write of the first run.
KINDS = {
    "429": 1,
    "500": 1,
    "500_after": 1,
    "slow": 1,
    "drop": 1,
    "drop_after": 1,
    "expire": 1,
}
# What a failed first run may say: each names what was lost and that a re-run finishes it.
TRUTHFUL = ("was lost", "did not answer", "Run again", "try again")


def _faults(kind: str) -> Faults:
    return Faults.of(kind, SHARE, slow_seconds=SLOW, seed=KINDS[kind])


def _judge_first_run(result: dg.ExecuteInProcessResult, landed: bool) -> None:
    """Success only if everything landed; a failure says what happened."""
    if result.success:
        assert landed, "the run reported success, but Listrak does not hold the audience"
    else:
        messages = failure_messages(result)
        assert messages and any(w in m for m in messages for w in TRUTHFUL), messages


def _hit_a_write(emulator: Emulator, kind: str) -> bool:
    return any(r.fault == kind and r.is_write for r in emulator.requests)


# Email: field group and fields created, list imports ------------------------------------------


def _send_email(
    workspace: Workspace, emulator: Emulator, emails: list[str]
) -> dg.ExecuteInProcessResult:
    workspace.settings(
        email={
            "chunk_rows": 3,
            "poll_interval_seconds": 0.01,
            "poll_timeout_seconds": 20,
        },
        unmatched_columns="create",
    )
    pl.DataFrame({"Email": emails, "tier": ["gold"] * len(emails)}).write_csv(
        workspace.inbox / "email_audience.csv"
    )
    resource = api_resource(ListrakEmailApi, emulator, timeout_seconds=TIMEOUT)
    return materialize(workspace, KEYS, listrak_email=resource)


def _email_exact(emulator: Emulator, audience: list[str]) -> bool:
    item = emulator.email.list_named("Newsletter")
    names = sorted(f.name for f in item.fields.values())
    return (
        on(emulator) == set(audience)
        and not off(emulator)
        and [g.name for g in item.groups.values()] == [GROUP]
        and names == sorted([SEGMENT, "tier"])
        and all(
            v == "gold"
            for e, v in emulator.email.field_values("Newsletter", GROUP, "tier").items()
            if e in audience
        )
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_email_faults(workspace: Workspace, emulator: Emulator, kind: str) -> None:
    audience = addresses(*(f"m{i}" for i in range(7)))
    emulator.set_faults(_faults(kind))
    first = _send_email(workspace, emulator, audience)
    assert _hit_a_write(emulator, kind), f"seed {KINDS[kind]} spares every write: pick another"
    _judge_first_run(first, _email_exact(emulator, audience))

    emulator.set_faults(Faults())
    again = _send_email(workspace, emulator, audience)
    assert again.success, failure_messages(again)
    assert _email_exact(emulator, audience)
    assert emulator.email.wait_idle()
    item = emulator.email.list_named("Newsletter")
    assert sorted(item.contacts) == sorted(audience)  # no contact twice, nobody else


# SMS: per-number subscribes and unsubscribes -------------------------------------------------


def _sync_sms(
    workspace: Workspace, emulator: Emulator, phones: list[str]
) -> dg.ExecuteInProcessResult:
    pl.DataFrame({"phone": phones}).write_csv(workspace.inbox / "sms_audience.csv")
    workspace.settings(
        sms={
            "sender_code": "12345",
            "phone_list": "SMS Audience",
            "concurrency": 4,
            "poll_interval_seconds": 0.01,
            "poll_timeout_seconds": 20,
        }
    )
    resource = api_resource(ListrakSmsApi, emulator, timeout_seconds=TIMEOUT)
    return materialize(
        workspace, [*SMS_KEYS, sms_sink.SINK, sms_sink.REJECTS], listrak_sms=resource
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_sms_faults(workspace: Workspace, emulator: Emulator, kind: str) -> None:
    before = numbers(*range(6))
    assert _sync_sms(workspace, emulator, before).success
    audience = numbers(*range(3, 10))  # 3 leave, 4 join
    emulator.set_faults(_faults(kind))
    emulator.clear_requests()
    first = _sync_sms(workspace, emulator, audience)
    assert _hit_a_write(emulator, kind), f"seed {KINDS[kind]} spares every write: pick another"
    _judge_first_run(first, members(emulator) == set(audience))

    emulator.set_faults(Faults())
    again = _sync_sms(workspace, emulator, audience)
    assert again.success, failure_messages(again)
    assert members(emulator) == set(audience)
    contacts = emulator.sms.sender_codes[1].contacts
    assert sorted(contacts) == sorted(set(before) | set(audience))  # one contact per number


def test_an_sms_create_whose_answer_was_lost_is_looked_up_not_resent(
    workspace: Workspace, emulator: Emulator
) -> None:
    # Every create is applied and then answered 500: each number is found, not created again.
    emulator.set_faults(Faults.of("500_after", 1.0, match=r"POST .*/PhoneList/\d+/Contact$"))
    audience = numbers(*range(4))
    result = _sync_sms(workspace, emulator, audience)
    assert result.success, failure_messages(result)
    assert members(emulator) == set(audience)
    creates = [
        r
        for r in emulator.requests
        if r.method == "POST" and r.path.endswith("/PhoneList/1/Contact")
    ]
    assert len(creates) == len(audience)  # one create per number, never a second
    looked_up = {
        r.path.split("/Contact/", 1)[1].split("/", 1)[0]
        for r in emulator.requests
        if r.method == "GET" and "/Contact/1212555" in r.path
    }
    assert looked_up == set(audience)  # each found by a look, after its lost answer
