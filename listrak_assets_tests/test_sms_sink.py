"""The SMS audience sink through Dagster (`dg.materialize` of raw -> clean -> sink) against the
emulator over real HTTP, every request checked against Listrak's SMS Swagger document: the
phone list mirrored exactly, opted-out numbers never subscribed, failures that say what to
do, faults that still converge, and a dry run that writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import dagster as dg
import httpx
import polars as pl
import pytest

from listrak_assets.definitions import defs
from listrak_assets.defs import email_sink
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSmsApi
from listrak_assets.defs.sms_sink import REJECTS, SINK
from listrak_assets.listrak.auth import Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.errors import ListrakApiError
from listrak_assets.listrak.opt_outs import OptOutRecord
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.listrak_fixtures import FAST_RETRY
from listrak_assets_tests.sink_fixtures import api_resource, failed_before_writing, materialize

KEYS = [raw_key("sms_audience"), clean_key("sms_audience"), rejects_key("sms_audience")]
CODE = 1  # the emulator's default sender code "12345"


def sync(
    workspace: Workspace,
    emulator: Emulator,
    rows: dict[str, list[object]],
    *,
    dry_run: bool = False,
    phone_list: str = "SMS Audience",
    extra_keys: list[dg.AssetKey] | None = None,
    guard: dict[str, object] | None = None,
    sms: dict[str, object] | None = None,
    tags: dict[str, str] | None = None,
    checks: bool = False,
    **settings: object,
) -> dg.ExecuteInProcessResult:
    """Write the audience file, then materialize raw -> clean -> the SMS sink (with
    `checks`, the removal guard check too)."""
    pl.DataFrame(rows).write_csv(workspace.inbox / "sms_audience.csv")
    workspace.settings(
        sms={
            "sender_code": "12345",
            "phone_list": phone_list,
            "dry_run": dry_run,
            "concurrency": 4,
            "poll_interval_seconds": 0.01,
            "poll_timeout_seconds": 30,
            **({"guard": guard} if guard is not None else {}),
            **(sms or {}),
        },
        **settings,
    )
    return materialize(
        workspace,
        [*KEYS, SINK, REJECTS, *(extra_keys or [])],
        tags=tags,
        checks=checks,
        listrak_sms=api_resource(ListrakSmsApi, emulator),
        listrak_email=api_resource(ListrakEmailApi, emulator),
    )


def phone_list_id(emulator: Emulator, name: str = "SMS Audience") -> int:
    code = emulator.sms.sender_codes[CODE]
    return next(i for i, p in code.lists.items() if p.name == name)


def members(emulator: Emulator, name: str = "SMS Audience") -> set[str]:
    return set(emulator.sms.members(CODE, phone_list_id(emulator, name)))


def value(emulator: Emulator, phone: str, field_id: int) -> str | None:
    return emulator.sms.sender_codes[CODE].contacts[phone].values.get(field_id)


def numbers(*suffixes: int) -> list[str]:
    return [f"1212555{n:04d}" for n in suffixes]


def test_the_sink_reads_the_clean_audience() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(SINK).parent_keys == {clean_key("sms_audience")}
    assert graph.get(SINK).group_name == "listrak"


def test_first_sync_subscribes_every_valid_number(workspace: Workspace, emulator: Emulator) -> None:
    tier = emulator.sms.create_field("Tier")
    result = sync(
        workspace,
        emulator,
        {
            "Phone Number": ["(212) 555-0101", "212-555-0102", "not a phone"],
            "firstname": ["Ann", "Bob", "Cy"],
            "tier": ["gold", "silver", "gold"],
        },
    )
    assert result.success, failure_messages(result)
    assert members(emulator) == set(numbers(101, 102))
    assert value(emulator, "12125550101", tier.field_id) == "gold"
    contact = emulator.sms.sender_codes[CODE].contacts["12125550101"]
    assert contact.profile["firstName"] == "Ann"
    meta = materialization(result, SINK)
    assert (meta["subscribed"], meta["created"], meta["unsubscribed"]) == (2, 2, 0)
    assert meta["updated"] == 0 and meta["skipped"] == 0
    assert meta["mapped_columns"] == {"tier": "Tier"}
    assert meta["requests"] == sum(r.api in ("auth", "sms") for r in emulator.requests)
    assert meta["duration_seconds"] >= 0
    # Created and subscribed with one call each: no look first, no import needed.
    writes = [r for r in emulator.requests if r.is_write]
    assert [r.method for r in writes] == ["POST", "POST"]


def test_second_sync_changes_only_what_changed(workspace: Workspace, emulator: Emulator) -> None:
    tier = emulator.sms.create_field("Tier")
    other = emulator.sms.create_phone_list(CODE, "VIP")
    first = {"phone": numbers(1, 2, 3, 4), "tier": ["a", "b", "c", "d"]}
    assert sync(workspace, emulator, first).success
    # A leaver that is also on another list stays there.
    emulator.sms.sender_codes[CODE].contacts["12125550001"].lists[other.phone_list_id] = (
        "Subscribed"
    )
    emulator.clear_requests()
    second = {"phone": numbers(2, 3, 4, 5), "tier": ["b", "C", "d", "e"]}
    result = sync(workspace, emulator, second)
    assert result.success, failure_messages(result)

    assert members(emulator) == set(numbers(2, 3, 4, 5))
    assert members(emulator, "VIP") == {"12125550001"}
    assert value(emulator, "12125550003", tier.field_id) == "C"
    meta = materialization(result, SINK)
    assert (meta["subscribed"], meta["unsubscribed"], meta["updated"]) == (1, 1, 1)
    assert meta["kept"] == 3
    [imported] = meta["imports"]
    assert imported["rows"] == 1 and imported["status"] == "Completed"
    writes = sorted((r.method, r.path) for r in emulator.requests if r.is_write)
    assert writes == sorted(
        [
            (
                "DELETE",
                f"/sms/v1/ShortCode/1/ContactUnsubscribe/12125550001/PhoneList/{phone_list_id(emulator)}",
            ),
            ("POST", f"/sms/v1/ShortCode/1/PhoneList/{phone_list_id(emulator)}/Contact"),
            ("POST", "/sms/v1/ShortCode/1/ContactImport"),
        ]
    )


def test_opted_out_numbers_stay_unsubscribed(workspace: Workspace, emulator: Emulator) -> None:
    emulator.sms.opt_out(CODE, "12125550003")  # texted STOP earlier
    rows = {"phone": numbers(1, 2, 3), "optedout": ["false", "true", "false"]}
    result = sync(workspace, emulator, rows)
    assert result.success, failure_messages(result)
    assert members(emulator) == {"12125550001"}
    assert "12125550002" not in emulator.sms.sender_codes[CODE].contacts
    meta = materialization(result, SINK)
    assert meta["skipped_reasons"] == {
        "opted out at Listrak": 1,
        "opted out in the audience": 1,
    }
    # Nor on the next sync.
    assert sync(workspace, emulator, rows).success
    assert members(emulator) == {"12125550001"}


def test_a_number_written_many_ways_is_one_contact(
    workspace: Workspace, emulator: Emulator
) -> None:
    formats = ["(212) 555-0101", "+1 212-555-0101", "1.212.555.0101", "212 555 0101"]
    result = sync(workspace, emulator, {"phone": formats})
    assert result.success, failure_messages(result)
    assert list(emulator.sms.sender_codes[CODE].contacts) == ["12125550101"]
    assert members(emulator) == {"12125550101"}


def test_a_wrong_phone_list_fails_listing_the_lists(
    workspace: Workspace, emulator: Emulator
) -> None:
    result = sync(workspace, emulator, {"phone": numbers(1)}, phone_list="Nope")
    message = failed_before_writing(result, emulator)
    assert "no SMS phone list 'Nope'" in message and "'SMS Audience'" in message


def test_unmatched_columns_fail_before_anything_is_written(
    workspace: Workspace, emulator: Emulator
) -> None:
    result = sync(
        workspace, emulator, {"phone": numbers(1), "shoe": ["9"]}, unmatched_columns="fail"
    )
    message = failed_before_writing(result, emulator)
    assert "shoe" in message and "can't be created" in message


def test_faults_on_a_fifth_of_requests_still_end_in_the_right_state(
    workspace: Workspace, emulator: Emulator
) -> None:
    tier = emulator.sms.create_field("Tier")
    emulator.set_faults(
        throttle=0.05, errors=0.05, drops=0.05, drops_after=0.05, match=r"/sms/", seed=3
    )
    first = {"phone": numbers(*range(30)), "tier": ["x"] * 30}
    assert sync(workspace, emulator, first).success
    second = {"phone": numbers(*range(15, 45)), "tier": ["y"] * 30}
    result = sync(workspace, emulator, second)
    assert result.success, failure_messages(result)
    assert members(emulator) == set(numbers(*range(15, 45)))
    assert {value(emulator, p, tier.field_id) for p in numbers(*range(15, 45))} == {"y"}
    assert materialization(result, SINK)["rejected_numbers"] == 0
    faults = {r.fault for r in emulator.requests if r.fault}
    assert {"429", "500", "drop", "drop_after"} <= faults


def test_a_dry_run_writes_nothing(workspace: Workspace, emulator: Emulator) -> None:
    assert sync(workspace, emulator, {"phone": numbers(1, 2)}).success
    emulator.clear_requests()
    result = sync(workspace, emulator, {"phone": numbers(2, 3)}, dry_run=True)
    assert result.success, failure_messages(result)
    assert emulator.writes == 0
    assert members(emulator) == set(numbers(1, 2))
    meta = materialization(result, SINK)
    assert meta["dry_run"] is True
    assert (meta["subscribed"], meta["unsubscribed"]) == (1, 1)


def test_email_and_sms_sinks_run_together_with_their_own_tokens(
    workspace: Workspace, emulator: Emulator
) -> None:
    pl.DataFrame({"Email": ["ann@example.com"]}).write_csv(workspace.inbox / "email_audience.csv")
    email_keys = [
        raw_key("email_audience"),
        clean_key("email_audience"),
        rejects_key("email_audience"),
        email_sink.SINK,
        email_sink.REJECTS,
    ]
    result = sync(
        workspace, emulator, {"phone": numbers(1)}, extra_keys=email_keys, email={"dry_run": False}
    )
    assert result.success, failure_messages(result)
    assert members(emulator) == {"12125550001"}
    tokens = {
        api: {r.headers.get("authorization") for r in emulator.requests if r.api == api}
        for api in ("email", "sms")
    }
    assert tokens["email"] and tokens["sms"] and not tokens["email"] & tokens["sms"]
    assert sum(r.api == "auth" for r in emulator.requests) == 2


def test_restricted_pii_masks_rejected_numbers(workspace: Workspace, emulator: Emulator) -> None:
    emulator.set_faults(errors=1.0, match=r"ContactUnsubscribe")
    assert sync(workspace, emulator, {"phone": numbers(1, 2)}).success
    # One of two numbers leaves: lift the removal limits (the guard has its own tests). One
    # unsubscribe that can't land is allowed here: this test is about what is shown.
    lifted = {"max_shrink_share": 1.0, "max_leaver_share": 1.0}
    result = sync(
        workspace,
        emulator,
        {"phone": numbers(2)},
        guard=lifted,
        sms={"max_failed_writes": 1},
    )
    assert result.success, failure_messages(result)
    rejects = pl.read_parquet(workspace.warehouse / "listrak" / "sms_audience_rejects.parquet")
    assert rejects.rows() == [("1***", "unsubscribe", "ListrakUnavailable")]
    meta = materialization(result, SINK)
    assert meta["unsubscribed"] == 0 and meta["rejected_numbers"] == 1
    assert "12125550001" not in str(meta)


@pytest.mark.parametrize("wanted", ["12345", "Demo", "1"])
def test_the_sender_code_is_found_by_id_code_or_name(
    workspace: Workspace, emulator: Emulator, wanted: str
) -> None:
    pl.DataFrame({"phone": numbers(1)}).write_csv(workspace.inbox / "sms_audience.csv")
    workspace.settings(sms={"sender_code": wanted, "phone_list": str(phone_list_id(emulator))})
    result = materialize(
        workspace, [*KEYS, SINK, REJECTS], listrak_sms=api_resource(ListrakSmsApi, emulator)
    )
    assert result.success, failure_messages(result)
    assert members(emulator) == {"12125550001"}


# The emulator's SMS state rules, through our client ---------------------------------------------


@pytest.fixture
def sms_api(emulator: Emulator) -> Iterator[SmsApi]:
    options = ClientOptions(
        api_url=emulator.api_url, auth_url=emulator.auth_url, retry=FAST_RETRY, seed=1
    )
    with connect(emulator.credentials[Integration.SMS], options) as http:
        yield SmsApi(http)


def _code_of(call: Callable[[], object]) -> str | None:
    with pytest.raises(ListrakApiError) as caught:
        call()
    return caught.value.code


def test_emulator_keeps_the_contracts_state_rules(emulator: Emulator, sms_api: SmsApi) -> None:
    main = phone_list_id(emulator)
    vip = emulator.sms.create_phone_list(CODE, "VIP").phone_list_id
    sms_api.create_and_subscribe(CODE, main, {"phoneNumber": "12125550001"})
    # One contact per sender code: a second create is refused, subscribing it elsewhere works.
    again = _code_of(
        lambda: sms_api.create_and_subscribe(CODE, vip, {"phoneNumber": "12125550001"})
    )
    assert again == "ERROR_PHONE_NUMBER_FOUND"
    sms_api.subscribe(CODE, "12125550001", vip)
    assert _code_of(lambda: sms_api.subscribe(CODE, "12125550001", vip)) == (
        "ERROR_SUBSCRIBED_PHONE_NUMBER"
    )
    # Unsubscribing is per list.
    sms_api.unsubscribe(CODE, "12125550001", main)
    assert members(emulator) == set() and members(emulator, "VIP") == {"12125550001"}
    assert _code_of(lambda: sms_api.unsubscribe(CODE, "12125550001", main)) == (
        "ERROR_PHONE_NUMBER_NOT_SUBSCRIBED"
    )
    # An opted-out number can't be subscribed again.
    emulator.sms.opt_out(CODE, "12125550001")
    assert _code_of(lambda: sms_api.subscribe(CODE, "12125550001", main)) == (
        "ERROR_PHONE_NUMBER_SUSPENDED"
    )
    assert sms_api.contact(CODE, "12125550001")["optedOut"] is True
    assert sms_api.contact(CODE, "12125550009") is None
    assert _code_of(lambda: sms_api.contact(CODE, "12")) == "ERROR_INVALID_PHONE_NUMBER"


def test_emulator_profile_fields_are_read_only(emulator: Emulator, sms_api: SmsApi) -> None:
    emulator.sms.create_field("Tier")
    assert [f.name for f in sms_api.fields(CODE)] == ["Tier"]
    # Not an operation of the SMS API: sent with another user agent, outside the contract check.
    response = httpx.post(
        f"{emulator.api_url}/sms/v1/ShortCode/{CODE}/SegmentationField",
        json={"segmentationFieldName": "Shoe"},
        headers={"Authorization": f"Bearer {sms_api.http.tokens.token()}"},
    )
    assert response.status_code == 405
    assert [f.name for f in sms_api.fields(CODE)] == ["Tier"]


def test_an_email_token_is_refused_by_the_sms_api(emulator: Emulator, sms_api: SmsApi) -> None:
    options = ClientOptions(api_url=emulator.api_url, auth_url=emulator.auth_url, seed=1)
    with connect(emulator.credentials[Integration.EMAIL], options) as http:
        email_token = http.tokens.token()
    response = httpx.get(
        f"{emulator.api_url}/sms/v1/ShortCode",
        headers={"Authorization": f"Bearer {email_token}"},
    )
    assert response.status_code == 401


# Opt-outs read once ----------------------------------------------------------------------------


def opt_out_reads(emulator: Emulator) -> list[dict[str, str]]:
    """The query of every read of the sender code's opt-outs, in order."""
    return [
        {k: v[-1] for k, v in parse_qs(r.query).items()}
        for r in emulator.requests
        if r.method == "GET" and r.path == f"/sms/v1/ShortCode/{CODE}/OptOut"
    ]


def touched(emulator: Emulator, phone: str) -> list[str]:
    """Requests about one number (in the path, or a create carrying it in the body)."""
    return [
        f"{r.method} {r.path}"
        for r in emulator.requests
        if phone in r.path or (r.body is not None and phone.encode() in r.body)
    ]


def test_opted_out_numbers_are_read_once_per_run_and_never_posted(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.sms.opt_out(CODE, numbers(3)[0])
    emulator.sms.opt_out(CODE, numbers(4)[0], reason="API")
    emulator.record_bodies = True
    rows = {"phone": numbers(1, 2, 3, 4)}
    result = sync(workspace, emulator, rows)
    assert result.success, failure_messages(result)
    assert members(emulator) == set(numbers(1, 2))
    assert len(opt_out_reads(emulator)) == 1 and "startDate" not in opt_out_reads(emulator)[0]
    assert touched(emulator, numbers(3)[0]) == touched(emulator, numbers(4)[0]) == []
    meta = materialization(result, SINK)
    assert meta["skipped_reasons"] == {"opted out at Listrak": 2}
    assert (meta["opt_outs_read"], meta["opt_outs_known"]) == (2, 2)
    assert meta["opt_outs_since"] == "all (first read)"

    # The same audience again: one read of the opt-outs and not one write.
    emulator.clear_requests()
    again = sync(workspace, emulator, rows)
    assert again.success, failure_messages(again)
    assert emulator.writes == 0
    assert [r.path for r in emulator.requests if "/Contact/" in r.path] == []
    assert len(opt_out_reads(emulator)) == 1
    assert materialization(again, SINK)["skipped_reasons"] == {"opted out at Listrak": 2}

    # A member texts STOP: off the list, so a joiner again, and skipped without a request.
    emulator.sms.opt_out(CODE, numbers(1)[0])
    emulator.clear_requests()
    third = sync(workspace, emulator, rows, guard={"max_shrink_share": 1, "max_leaver_share": 1})
    assert third.success, failure_messages(third)
    assert touched(emulator, numbers(1)[0]) == [] and emulator.writes == 0
    assert members(emulator) == set(numbers(2))
    assert materialization(third, SINK)["skipped_reasons"] == {"opted out at Listrak": 3}


def test_the_opt_out_cursor_is_incremental(workspace: Workspace, emulator: Emulator) -> None:
    emulator.sms.opt_out(CODE, numbers(5)[0], date="2026-01-10T08:00:00")
    emulator.sms.opt_out(CODE, numbers(6)[0], date="2026-06-01T12:30:00")
    rows = {"phone": numbers(1, 5, 6)}
    assert sync(workspace, emulator, rows).success
    record = OptOutRecord(workspace.warehouse / "state")
    frame, info = record.load(CODE)
    assert info["cursor"] == "2026-06-01T12:30:00"
    assert sorted(frame["phone"]) == numbers(5, 6)

    # Later: a read from the cursor (less a day), which returns only what is new.
    emulator.sms.opt_out(CODE, numbers(7)[0], date="2026-07-02T09:00:00")
    emulator.clear_requests()
    result = sync(workspace, emulator, {"phone": numbers(1, 5, 6, 7)})
    assert result.success, failure_messages(result)
    [query] = opt_out_reads(emulator)
    assert query["startDate"] == "2026-05-31T12:30:00"
    meta = materialization(result, SINK)
    assert (meta["opt_outs_read"], meta["opt_outs_known"]) == (2, 3)  # 6 (overlap) and 7
    assert meta["opt_outs_since"] == "2026-05-31T12:30:00"
    assert meta["skipped_reasons"] == {"opted out at Listrak": 3}
    assert record.load(CODE)[1]["cursor"] == "2026-07-02T09:00:00"
    assert emulator.writes == 0  # 1 was already subscribed, and 7 is skipped


def test_the_removal_guard_check_and_the_sink_share_one_read(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.sms.opt_out(CODE, numbers(3)[0])
    rows = {"phone": numbers(1, 2, 3)}
    for _ in range(2):
        emulator.clear_requests()
        result = sync(workspace, emulator, rows, checks=True)
        assert result.success, failure_messages(result)
        assert len(opt_out_reads(emulator)) == 1
        assert materialization(result, SINK)["skipped_reasons"] == {"opted out at Listrak": 1}
    assert members(emulator) == set(numbers(1, 2))


def test_the_opt_outs_route_pages_and_filters_by_date(emulator: Emulator, sms_api: SmsApi) -> None:
    for day in range(1, 8):
        emulator.sms.opt_out(CODE, numbers(day)[0], date=f"2026-03-0{day}T10:00:00")
    everyone = list(sms_api.http.paged(f"/ShortCode/{CODE}/OptOut", count=3))
    assert [o["phoneNumber"] for o in everyone] == numbers(*range(1, 8))
    assert {o["optOutReason"] for o in everyone} == {"Campaign"}
    since = list(sms_api.opt_outs(CODE, "2026-03-05T10:00:00"))
    assert [o["phoneNumber"] for o in since] == numbers(5, 6, 7)
    with pytest.raises(ListrakApiError, match="startDate"):
        list(sms_api.opt_outs(CODE, "the fifth of March"))
