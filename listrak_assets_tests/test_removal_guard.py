"""The removal guard: a send that would empty or gut an audience is refused before its first
write, by the blocking check on the clean audience and again inside the sink; missing input
is never an empty audience; the run tag lifts the guard for one run and says so.

The rules are tested on the pure guard; the scenarios through Dagster (`materialize`) against
the emulator over real HTTP."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from listrak_assets.definitions import defs
from listrak_assets.defs import email_sink, sms_sink
from listrak_assets.defs.removal_guard import REMOVAL_GUARD
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSmsApi
from listrak_assets.listrak.guard import OVERRIDE_TAG, Removal, judge, overridden_for
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.settings import RemovalLimits
from listrak_assets_tests.conftest import (
    Workspace,
    check_results,
    failure_messages,
    materialization,
)
from listrak_assets_tests.sink_fixtures import api_resource, materialize
from listrak_assets_tests.test_email_sink import KEYS as EMAIL_KEYS
from listrak_assets_tests.test_email_sink import addresses, off, on, send
from listrak_assets_tests.test_sms_sink import KEYS as SMS_KEYS
from listrak_assets_tests.test_sms_sink import members, numbers, sync

Check = dg.AssetCheckEvaluation

DEFAULT = RemovalLimits()
OVERRIDE = {OVERRIDE_TAG: "true"}

# The pure guard --------------------------------------------------------------------------------


def test_a_first_send_is_refused_only_when_empty() -> None:
    assert judge("email", Removal(None, 1, 0), DEFAULT).allowed
    empty = judge("email", Removal(None, 0, 0), DEFAULT)
    assert not empty.allowed and empty.problems == ("the new audience is empty",)


def test_net_shrink_past_the_share_is_refused_with_how_to_override() -> None:
    verdict = judge("email", Removal(20_000, 10_000, 10_000), DEFAULT)
    assert not verdict.allowed
    assert verdict.message.startswith(
        "email audience send refused before any write: it would remove 10,000 members "
        "(previous members: 20,000; new audience: 10,000): the audience shrank by 50.0%, "
        "more than email.guard.max_shrink_share (20.0%)"
    )
    assert f"{OVERRIDE_TAG}=true" in verdict.message
    assert "`email.guard:` in listrak.yaml" in verdict.message
    # At the limit is allowed: 20% exactly.
    assert judge("email", Removal(100, 80, 20), DEFAULT).allowed


def test_a_wrong_file_of_the_right_size_is_refused_by_the_leaver_share() -> None:
    verdict = judge("sms", Removal(100, 100, 60), DEFAULT)
    assert verdict.problems == (
        "60.0% of the previous members would leave, more than sms.guard.max_leaver_share (50.0%)",
    )
    assert judge("sms", Removal(100, 100, 50), DEFAULT).allowed


def test_a_leaver_count_limit_and_lifted_shares() -> None:
    limits = RemovalLimits(max_shrink_share=1, max_leaver_share=1, max_leavers=10)
    assert judge(
        "email", Removal(1000, 100, 900), RemovalLimits(max_leaver_share=1, max_shrink_share=1)
    ).allowed
    refused = judge("email", Removal(1000, 1000, 11), limits)
    assert refused.problems == ("11 members would leave, more than email.guard.max_leavers (10)",)
    # Lifted shares never lift the empty check.
    assert not judge("email", Removal(1000, 0, 1000), limits).allowed


@pytest.mark.parametrize(
    ("value", "email", "sms"),
    [
        (None, False, False),
        ("true", True, True),
        ("email", True, False),
        ("sms, email", True, True),
        ("no", False, False),
    ],
)
def test_the_override_tag_names_the_channels(value: str | None, email: bool, sms: bool) -> None:
    assert (overridden_for(value, "email"), overridden_for(value, "sms")) == (email, sms)


# Email, through Dagster ------------------------------------------------------------------------

TEN = addresses(*"abcdefghij")


def _guard(result: dg.ExecuteInProcessResult) -> Check:
    return check_results(result)[("clean/email_audience", REMOVAL_GUARD)]


def test_a_deleted_audience_file_refuses_the_send_and_turns_nobody_off(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, TEN, checks=True).success
    writes = emulator.writes
    (workspace.inbox / "email_audience.csv").unlink()

    result = email_sink_run(workspace, emulator, checks=True)
    assert not result.success
    check = _guard(result)
    assert not check.passed
    assert check.description.startswith(f"no email_audience files in {workspace.inbox}")
    assert email_sink.SINK not in _materialized(result)
    # The sink on its own is guarded too, with the same message.
    direct = email_sink_run(workspace, emulator, checks=False)
    [message] = failure_messages(direct)
    assert message.startswith(f"no email_audience files in {workspace.inbox}")
    assert emulator.writes == writes
    assert on(emulator) == set(TEN) and off(emulator) == set()


def _materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {
        e.event_specific_data.materialization.asset_key
        for e in result.get_asset_materialization_events()
    }


def email_sink_run(
    workspace: Workspace, emulator: Emulator, checks: bool
) -> dg.ExecuteInProcessResult:
    """Materialize raw -> clean -> sink of whatever is in the inbox now."""
    return materialize(
        workspace, EMAIL_KEYS, checks=checks, listrak_email=api_resource(ListrakEmailApi, emulator)
    )


@pytest.mark.parametrize(
    "file",
    [
        pytest.param("Email\na@example.com\n", id="one-row"),
        pytest.param("Email\n", id="header-only"),
        pytest.param(
            "Email\n" + "".join(f"not-an-address-{i}\n" for i in range(50)), id="all-invalid"
        ),
    ],
)
def test_a_gutted_audience_file_is_refused(
    workspace: Workspace, emulator: Emulator, file: str
) -> None:
    assert send(workspace, emulator, TEN).success
    writes = emulator.writes
    workspace.write("email_audience.csv", file)

    result = email_sink_run(workspace, emulator, checks=True)
    assert not result.success
    check = _guard(result)
    assert not check.passed and "refused before any write" in check.description
    # The sink on its own refuses too.
    direct = email_sink_run(workspace, emulator, checks=False)
    [message] = failure_messages(direct)
    assert "email audience send refused before any write" in message
    assert emulator.writes == writes and off(emulator) == set()


def test_a_shrink_from_20k_to_10k_is_refused_with_the_message(
    workspace: Workspace, emulator: Emulator
) -> None:
    everyone = [f"p{i:05d}@example.com" for i in range(20_000)]
    assert send(workspace, emulator, everyone, chunk_rows=50_000).success
    writes = emulator.writes

    result = send(workspace, emulator, everyone[:10_000], chunk_rows=50_000, checks=True)
    assert not result.success
    check = _guard(result)
    assert check.description.startswith(
        "email audience send refused before any write: it would remove 10,000 members "
        "(previous members: 20,000; new audience: 10,000): the audience shrank by 50.0%"
    )
    assert check.metadata["guard"].value["members_to_remove"] == 10_000
    assert check.metadata["guard_overridden"].value is False
    assert emulator.writes == writes and off(emulator) == set()


def test_a_right_sized_wrong_file_is_refused_then_the_tag_lets_it_through_once(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, TEN).success
    other = addresses(*(f"x{i}" for i in range(10)))
    refused = send(workspace, emulator, other, checks=True)
    assert not refused.success
    assert "100.0% of the previous members would leave" in _guard(refused).description
    assert off(emulator) == set()

    lifted = send(workspace, emulator, other, checks=True, tags=OVERRIDE)
    assert lifted.success, failure_messages(lifted)
    assert off(emulator) == set(TEN) and on(emulator) == set(other)
    check = _guard(lifted)
    assert check.passed and check.metadata["guard_overridden"].value is True
    meta = materialization(lifted, email_sink.SINK)
    assert meta["guard_overridden"] is True
    assert meta["guard_overridden_by"] == f"run tag {OVERRIDE_TAG}=true"
    assert meta["members_removed"] == 10

    # Once: the next run without the tag is guarded again.
    again = send(workspace, emulator, other[:2], checks=True)
    assert not again.success and not _guard(again).passed
    assert on(emulator) == set(other)


def test_a_normal_send_passes_the_check_and_records_no_override(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, TEN).success
    result = send(workspace, emulator, [*TEN[:9], "new@example.com"], checks=True)
    assert result.success, failure_messages(result)
    check = _guard(result)
    assert check.passed and check.metadata["guard"].value["members_to_remove"] == 1
    meta = materialization(result, email_sink.SINK)
    assert meta["guard_overridden"] is False and "guard_overridden_by" not in meta


def test_the_guard_judges_the_whole_audience_not_the_delta(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, TEN).success
    unchanged = send(workspace, emulator, TEN, checks=True)  # a delta of nothing
    assert unchanged.success, failure_messages(unchanged)
    assert materialization(unchanged, email_sink.SINK)["outcome"] == "unchanged, 0 sent"
    check = _guard(unchanged)
    assert check.passed and check.metadata["guard"].value["previous_members"] == 10
    assert check.metadata["guard"].value["audience_members"] == 10

    # Half the audience gone: the delta holds 5 rows (the leavers), the guard sees 10 -> 5.
    writes = emulator.writes
    halved = send(workspace, emulator, TEN[:5], checks=True)
    assert not halved.success
    assert "the audience shrank by 50.0%" in _guard(halved).description
    assert emulator.writes == writes and off(emulator) == set()


# SMS, through Dagster --------------------------------------------------------------------------


def _sms_guard(result: dg.ExecuteInProcessResult) -> Check:
    return check_results(result)[("clean/sms_audience", REMOVAL_GUARD)]


def test_sms_a_gutted_or_missing_file_unsubscribes_nobody_and_the_tag_lifts_it(
    workspace: Workspace, emulator: Emulator
) -> None:
    ten = numbers(*range(1, 11))
    assert sync(workspace, emulator, {"phone": ten}).success
    assert members(emulator) == set(ten)

    shrunk = sync(workspace, emulator, {"phone": ten[:1]}, checks=True)
    assert not shrunk.success
    assert _sms_guard(shrunk).description.startswith(
        "sms audience send refused before any write: it would remove 9 members "
        "(previous members: 10; new audience: 1)"
    )
    direct = sync(workspace, emulator, {"phone": ten[:1]})
    [message] = failure_messages(direct)
    assert message.startswith("sms audience send refused before any write")
    assert members(emulator) == set(ten)

    (workspace.inbox / "sms_audience.csv").unlink()
    missing = materialize(
        workspace,
        [*SMS_KEYS, sms_sink.SINK, sms_sink.REJECTS],
        checks=True,
        listrak_sms=api_resource(ListrakSmsApi, emulator),
    )
    assert not missing.success
    assert _sms_guard(missing).description.startswith(f"no sms_audience files in {workspace.inbox}")
    assert members(emulator) == set(ten)

    lifted = sync(workspace, emulator, {"phone": ten[:1]}, checks=True, tags={OVERRIDE_TAG: "sms"})
    assert lifted.success, failure_messages(lifted)
    assert members(emulator) == set(ten[:1])
    meta = materialization(lifted, sms_sink.SINK)
    assert meta["guard_overridden"] is True and meta["unsubscribed"] == 9
    assert meta["guard_overridden_by"] == f"run tag {OVERRIDE_TAG}=sms"


def test_the_check_without_credentials_still_refuses_an_empty_audience(
    workspace: Workspace,
) -> None:
    workspace.write("email_audience.csv", "email\n")
    workspace.write("sms_audience.csv", "phone\n+12125550001\n")
    checked = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=dg.AssetSelection.assets(*EMAIL_KEYS[:3], *SMS_KEYS),
        resources=workspace.resources(),
        instance=workspace.instance,
        raise_on_error=False,
    )
    email = check_results(checked)[("clean/email_audience", REMOVAL_GUARD)]
    assert not email.passed and email.severity == dg.AssetCheckSeverity.ERROR
    assert "the new audience is empty" in email.description
    sms = check_results(checked)[("clean/sms_audience", REMOVAL_GUARD)]
    # Not measured against the last send without credentials; the sink fails without them.
    assert not sms.passed and sms.severity == dg.AssetCheckSeverity.WARN
    assert "LISTRAK_SMS_CLIENT_ID" in sms.description


def test_a_refusal_names_the_exact_tag_and_the_settings_keys_both_ways(
    workspace: Workspace, emulator: Emulator
) -> None:
    """The blocking check and the sink on its own refuse with the same message, which says
    how to lift the guard for one run (the exact run tag, for every channel or this one) and
    for good (the settings key that refused, and where it lives)."""
    assert send(workspace, emulator, TEN).success
    refused = send(workspace, emulator, TEN[:2], checks=True)
    direct = send(workspace, emulator, TEN[:2])
    [message] = failure_messages(direct)
    for text in (_guard(refused).description, message):
        assert f"run tag {OVERRIDE_TAG}=true" in text
        assert f"{OVERRIDE_TAG}=email for this channel only" in text
        assert "more than email.guard.max_shrink_share (20.0%)" in text
        assert "`email.guard:` in listrak.yaml" in text
    assert on(emulator) == set(TEN) and off(emulator) == set()


def test_a_lost_state_is_no_excuse_a_halved_audience_is_refused_against_listrak(
    workspace: Workspace, emulator: Emulator
) -> None:
    """The mirror state deleted, then an audience half the size: the previous members are
    read from Listrak (not taken as none), so the guard sees the halving and refuses it,
    instead of reporting "0 removed" and leaving the leavers on."""
    everyone = addresses(*(f"p{i:03d}" for i in range(200)))
    assert send(workspace, emulator, everyone).success
    writes = emulator.writes
    shutil.rmtree(workspace.warehouse / "state")

    result = send(workspace, emulator, everyone[:100], checks=True)
    assert not result.success
    assert _guard(result).description.startswith(
        "email audience send refused before any write: it would remove 100 members "
        "(previous members: 200; new audience: 100)"
    )
    assert emulator.writes == writes and on(emulator) == set(everyone)
