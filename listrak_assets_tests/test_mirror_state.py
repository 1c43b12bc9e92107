"""The sinks' mirror state through Dagster against the emulator over real HTTP: the SMS sink
removes only numbers it subscribed (or the whole list when told so), a lost email state is
rebuilt from Listrak, a lost SMS record stops the run with what to do, state files of the
format before versions are migrated, and a write whose answer was lost is looked up before it
is reported."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import polars as pl
import pytest

from listrak_assets.defs.sms_sink import SINK as SMS_SINK
from listrak_assets.listrak.auth import Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.delta import hash_scheme
from listrak_assets.listrak.errors import ListrakAuthError
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.listrak.sms_audience import SmsOptions, plan_sms_audience, send_sms_plan
from listrak_assets.listrak.state import FORMAT_VERSION, META_KEY, MemberState, PhoneState
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.sandbox.sms_backend import SmsContact
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.listrak_fixtures import FAST_RETRY
from listrak_assets_tests.test_email_sink import LIFTED, addresses, off, on, send
from listrak_assets_tests.test_email_sink import SINK as EMAIL_SINK
from listrak_assets_tests.test_sms_sink import CODE, members, numbers, phone_list_id, sync

FIRST_SEND = {"listrak/sms_first_send": "true"}


def by_hand(emulator: Emulator, phones: list[str]) -> None:
    """Numbers someone else put on the phone list (in Listrak's UI, another tool)."""
    code = emulator.sms.sender_codes[CODE]
    list_id = phone_list_id(emulator)
    with emulator.sms.lock:
        for phone in phones:
            code.contacts.setdefault(phone, SmsContact(phone)).lists[list_id] = "Subscribed"


def phone_state(workspace: Workspace) -> PhoneState:
    return PhoneState(workspace.warehouse / "state")


def owned(workspace: Workspace, emulator: Emulator) -> set[str]:
    return set(phone_state(workspace).members(CODE, phone_list_id(emulator)))


HAND = numbers(*range(500, 525))  # 25 numbers put on the list by hand
OURS = numbers(*range(10))


# SMS: only remove what we added ----------------------------------------------------------------


def test_owned_mode_never_unsubscribes_numbers_put_on_the_list_by_hand(
    workspace: Workspace, emulator: Emulator
) -> None:
    by_hand(emulator, HAND)
    # Two of the hand-put numbers are in our audience too: on the list already, so not ours.
    first = sync(workspace, emulator, {"phone": OURS + HAND[:2]}, tags=FIRST_SEND)
    assert first.success, failure_messages(first)
    assert owned(workspace, emulator) == set(OURS)
    assert materialization(first, SMS_SINK)["mirror"] == "first send"

    # Half of our numbers leave: lift the removal limits (the guard has its own tests).
    result = sync(workspace, emulator, {"phone": OURS[:5]}, guard=LIFTED)
    assert result.success, failure_messages(result)
    assert members(emulator) == set(OURS[:5]) | set(HAND)  # all 25 hand-put numbers stay
    meta = materialization(result, SMS_SINK)
    assert (meta["unsubscribed"], meta["mirror"], meta["owned_numbers"]) == (5, "state", 5)
    assert owned(workspace, emulator) == set(OURS[:5])


def test_whole_list_mode_unsubscribes_numbers_put_on_the_list_by_hand(
    workspace: Workspace, emulator: Emulator
) -> None:
    by_hand(emulator, HAND)
    whole = {"mirror": "whole_list"}
    # No record and no first-send tag: whole-list mirroring needs neither.
    # Every number on the list leaves: lift the removal limits (the guard has its own tests).
    result = sync(workspace, emulator, {"phone": OURS}, sms=whole, guard=LIFTED)
    assert result.success, failure_messages(result)
    assert members(emulator) == set(OURS)
    meta = materialization(result, SMS_SINK)
    assert (meta["unsubscribed"], meta["previous_members"]) == (25, 25)
    assert meta["mirror"] == "phone list (whole_list)"


def test_a_lost_sms_record_fails_the_run_saying_what_to_do(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert sync(workspace, emulator, {"phone": OURS}).success  # an empty list: a first send
    shutil.rmtree(workspace.warehouse / "state")
    emulator.clear_requests()

    result = sync(workspace, emulator, {"phone": OURS[:3]})
    assert not result.success
    [message] = failure_messages(result)
    assert "no record of which numbers on phone list 'SMS Audience'" in message
    assert "sms_audience_members.parquet is missing" in message
    assert "listrak/sms_first_send=true" in message and "sms.mirror: whole_list" in message
    assert emulator.writes == 0
    assert members(emulator) == set(OURS)


def test_a_run_killed_half_way_keeps_the_numbers_it_may_have_subscribed(
    workspace: Workspace, emulator: Emulator
) -> None:
    """The record of pending numbers is written before the first write: a sync that dies
    after subscribing some of them still has them on record, and the next sync removes
    those that left."""
    state = phone_state(workspace)
    creds = emulator.credentials[Integration.SMS]
    options = ClientOptions(api_url=emulator.api_url, auth_url=emulator.auth_url, retry=FAST_RETRY)
    audience = pl.DataFrame({"phone": OURS})
    with connect(creds, options) as http:
        api = SmsApi(http)
        plan = plan_sms_audience(api, audience, SmsOptions("12345", "SMS Audience"), state)
        emulator.pause(Integration.SMS)  # the run dies at its first write
        with pytest.raises(ListrakAuthError):
            send_sms_plan(api, plan, state)
    emulator.pause(Integration.SMS, paused=False)
    assert set(state.pending(CODE, phone_list_id(emulator))) == set(OURS)
    assert not state.members_path.exists()
    # Say its writes had landed for the first four numbers before it died.
    by_hand(emulator, OURS[:4])

    result = sync(workspace, emulator, {"phone": OURS[2:]})
    assert result.success, failure_messages(result)
    assert members(emulator) == set(OURS[2:])  # 0 and 1 were ours: unsubscribed
    assert owned(workspace, emulator) == set(OURS[2:])


# SMS: honest outcomes --------------------------------------------------------------------------

CREATE = r"POST /sms/v1/ShortCode/\d+/PhoneList/\d+/Contact$"


def test_a_lost_answer_is_looked_up_and_reported_subscribed(
    workspace: Workspace, emulator: Emulator
) -> None:
    # Every create is applied, then its answer is dropped (the retry's too).
    emulator.set_faults(drops_after=1.0, match=CREATE)
    result = sync(workspace, emulator, {"phone": OURS[:4]})
    assert result.success, failure_messages(result)
    assert members(emulator) == set(OURS[:4])
    meta = materialization(result, SMS_SINK)
    assert (meta["subscribed"], meta["rejected_numbers"], meta["failed_writes"]) == (4, 0, 0)
    assert meta["looked_up"] == 4
    lookups = [r for r in emulator.requests if r.method == "GET" and r.path.endswith("/PhoneList")]
    assert len(lookups) >= 4
    assert owned(workspace, emulator) == set(OURS[:4])  # our calls put them there


def test_writes_that_did_not_land_fail_the_run_after_recording_them(
    workspace: Workspace, emulator: Emulator
) -> None:
    # Every create is dropped before it is handled: nothing lands, and looking shows it.
    emulator.set_faults(drops=1.0, match=CREATE)
    result = sync(workspace, emulator, {"phone": OURS[:3]})
    assert not result.success
    [message] = failure_messages(result)
    assert "3 writes did not land" in message and "sms.max_failed_writes" in message
    assert members(emulator) == set()
    meta = materialization(result, SMS_SINK)
    assert (meta["subscribed"], meta["failed_writes"], meta["looked_up"]) == (0, 3, 3)
    rejects = pl.read_parquet(workspace.warehouse / "listrak" / "sms_audience_rejects.parquet")
    assert rejects.height == 3 and set(rejects["action"]) == {"subscribe"}

    # Within the limit, the same sync succeeds and still reports the numbers.
    allowed = sync(workspace, emulator, {"phone": OURS[:3]}, sms={"max_failed_writes": 3})
    assert allowed.success, failure_messages(allowed)
    assert materialization(allowed, SMS_SINK)["failed_writes"] == 3


# Email: a lost state is rebuilt from Listrak ---------------------------------------------------


def test_a_lost_email_state_is_rebuilt_from_listrak(
    workspace: Workspace, emulator: Emulator
) -> None:
    first = addresses(*(f"m{i}" for i in range(200)))
    assert send(workspace, emulator, first).success
    emulator.email.seed_contact("Newsletter", "other@example.com")  # never ours
    shutil.rmtree(workspace.warehouse / "state")

    second = first[:150]
    result = send(workspace, emulator, second, guard=LIFTED)  # a quarter leaves
    assert result.success, failure_messages(result)
    assert on(emulator) == set(second)
    assert off(emulator) == set(first[150:])  # exactly the 50 leavers
    meta = materialization(result, EMAIL_SINK)
    assert meta["members_removed"] == 50 and meta["previous_members"] == 200
    assert meta["previous_source"] == "listrak: state missing"
    item = emulator.email.list_named("Newsletter")
    [field_id] = item.fields
    assert sorted(MemberState(workspace.warehouse / "state").members(item.list_id, field_id)) == (
        sorted(second)
    )


def test_a_reconciliation_run_reads_the_members_from_listrak(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("a", "b", "c")).success
    item = emulator.email.list_named("Newsletter")
    [field_id] = item.fields
    state = MemberState(workspace.warehouse / "state")
    state.commit(item.list_id, field_id, members=addresses("a"))  # a state gone wrong

    plain = send(workspace, emulator, addresses("a"))
    assert plain.success and on(emulator) == set(addresses("a", "b", "c"))  # trusted the state

    result = send(
        workspace, emulator, addresses("a"), tags={"listrak/reconcile": "true"}, guard=LIFTED
    )
    assert result.success, failure_messages(result)
    assert on(emulator) == set(addresses("a")) and off(emulator) == set(addresses("b", "c"))
    meta = materialization(result, EMAIL_SINK)
    assert meta["previous_source"] == "listrak: reconciliation"


# State files: versions and migration -----------------------------------------------------------


def test_a_state_file_of_the_format_before_versions_is_migrated(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("x")).success
    item = emulator.email.list_named("Newsletter")
    [field_id] = item.fields
    # The members file as the previous release wrote it: no version, ids on every row.
    path = workspace.warehouse / "state" / "email_audience_members.parquet"
    pl.DataFrame(
        {
            "list_id": [item.list_id] * 5,
            "field_id": [field_id] * 5,
            "email": addresses("a", "b", "c", "d", "x"),
        },
        schema={"list_id": pl.Int64, "field_id": pl.Int64, "email": pl.String},
    ).write_parquet(path)
    assert META_KEY not in pl.read_parquet_metadata(path)

    result = send(workspace, emulator, addresses("c", "d", "e"), guard=LIFTED)  # 5 -> 3
    assert result.success, failure_messages(result)
    assert on(emulator) == set(addresses("c", "d", "e"))
    assert off(emulator) == set(addresses("x"))  # a and b never reached Listrak
    meta = materialization(result, EMAIL_SINK)
    assert (meta["previous_source"], meta["members_removed"]) == ("state", 3)  # a b x
    # No row hashes in the old file: everyone is sent.
    assert (meta["send_mode"], meta["rows_sent"]) == ("full: no record of the rows sent", 6)
    info = json.loads(pl.read_parquet_metadata(path)[META_KEY])
    assert info == {
        "version": FORMAT_VERSION,
        "scope": {"list_id": item.list_id, "field_id": field_id},
        "sent": {"scheme": hash_scheme({}), "full_send": datetime.now(UTC).date().isoformat()},
    }
    assert sorted(pl.read_parquet(path)["email"]) == addresses("c", "d", "e")
    assert pl.read_parquet(path)["row_hash"].null_count() == 0


def test_a_state_file_without_row_hashes_is_migrated(
    workspace: Workspace, emulator: Emulator
) -> None:
    emails = addresses("a", "b", "c", "d")
    assert send(workspace, emulator, emails).success
    item = emulator.email.list_named("Newsletter")
    [field_id] = item.fields
    # The members file as the release before row hashes wrote it (format version 2).
    path = workspace.warehouse / "state" / "email_audience_members.parquet"
    scope = {"list_id": item.list_id, "field_id": field_id}
    pl.DataFrame({"email": emails}).write_parquet(
        path, metadata={META_KEY: json.dumps({"version": 2, "scope": scope})}
    )

    result = send(workspace, emulator, [*emails, "e@example.com"])
    assert result.success, failure_messages(result)
    meta = materialization(result, EMAIL_SINK)
    assert (meta["previous_source"], meta["members_kept"], meta["members_added"]) == (
        "state",
        4,
        1,
    )
    assert (meta["send_mode"], meta["rows_sent"]) == ("full: no record of the rows sent", 5)
    info = json.loads(pl.read_parquet_metadata(path)[META_KEY])
    assert (info["version"], info["scope"]) == (FORMAT_VERSION, scope)
    assert pl.read_parquet(path).columns == ["email", "row_hash"]

    # Rewritten with hashes: the same audience again sends nothing.
    again = send(workspace, emulator, [*emails, "e@example.com"])
    assert again.success, failure_messages(again)
    assert materialization(again, EMAIL_SINK)["outcome"] == "unchanged, 0 sent"
    assert on(emulator) == {*emails, "e@example.com"}


def test_a_state_file_from_a_newer_release_is_refused(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("x")).success
    path = workspace.warehouse / "state" / "email_audience_members.parquet"
    pl.DataFrame({"email": ["x@example.com"]}).write_parquet(
        path, metadata={META_KEY: json.dumps({"version": FORMAT_VERSION + 1, "scope": {}})}
    )
    emulator.clear_requests()
    result = send(workspace, emulator, addresses("x", "y"))
    assert not result.success
    [message] = failure_messages(result)
    assert "newer than this listrak-assets understands" in message
    assert emulator.writes == 0
