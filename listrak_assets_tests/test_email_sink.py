"""The email audience sink through Dagster (`dg.materialize` of raw -> clean -> sink) against
the emulator over real HTTP: membership mirrored exactly, nobody unsubscribed or resubscribed,
failures that say what to do, a mirror state that survives failed runs, and a dry run that
writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl
import pytest

from listrak_assets.definitions import defs
from listrak_assets.defs.email_sink import REJECTS, SINK
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import EMAIL_ENV, ListrakEmailApi
from listrak_assets.listrak.auth import Integration
from listrak_assets.listrak.delta import row_hashes
from listrak_assets.listrak.state import META_KEY, MemberState
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.listrak_fixtures import OpenApi
from listrak_assets_tests.sink_fixtures import api_resource, failed_before_writing, materialize
from listrak_assets_tests.test_settings_resource import reads_of

# Removal limits lifted: for tests of what a send does with leavers on tiny audiences, where
# one leaver is already a large share (the guard has its own tests).
LIFTED = {"max_shrink_share": 1.0, "max_leaver_share": 1.0}
GROUP = "Amperity Message Attributes"
SEGMENT = "Listrak Assets Audience"  # the repository's listrak.yaml
KEYS = [
    raw_key("email_audience"),
    clean_key("email_audience"),
    rejects_key("email_audience"),
    SINK,
    REJECTS,
]


def send(
    workspace: Workspace,
    emulator: Emulator,
    emails: list[str],
    *,
    columns: dict[str, list[str]] | None = None,
    resource: ListrakEmailApi | None = None,
    chunk_rows: int = 1000,
    dry_run: bool = False,
    guard: dict[str, object] | None = None,
    tags: dict[str, str] | None = None,
    checks: bool = False,
    email: dict[str, object] | None = None,
    **settings: object,
) -> dg.ExecuteInProcessResult:
    """Write the audience file, then materialize raw -> clean -> the sink through Dagster
    (with `checks`, the removal guard check too; `email`: more `email:` settings)."""
    frame = pl.DataFrame(
        {"Email": emails, **(columns or {})}, schema_overrides={"Email": pl.String}
    )
    frame.write_csv(workspace.inbox / "email_audience.csv")
    workspace.settings(
        email={
            "chunk_rows": chunk_rows,
            "dry_run": dry_run,
            "poll_interval_seconds": 0.01,
            "poll_timeout_seconds": 30,
            **({"guard": guard} if guard is not None else {}),
            **(email or {}),
        },
        **settings,
    )
    return materialize(
        workspace,
        KEYS,
        tags=tags,
        checks=checks,
        listrak_email=resource or api_resource(ListrakEmailApi, emulator),
    )


def membership(emulator: Emulator) -> dict[str, str]:
    """The membership field of every contact that has it, as Listrak holds it."""
    return emulator.email.field_values("Newsletter", GROUP, SEGMENT)


def on(emulator: Emulator) -> set[str]:
    return {e for e, v in membership(emulator).items() if v == "on"}


def off(emulator: Emulator) -> set[str]:
    return {e for e, v in membership(emulator).items() if v == "off"}


def addresses(*names: str) -> list[str]:
    return [f"{n}@example.com" for n in names]


def state(workspace: Workspace) -> MemberState:
    return MemberState(workspace.warehouse / "state")


# Wiring ----------------------------------------------------------------------------------------


def test_the_sink_reads_the_clean_audience() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(SINK).parent_keys == {clean_key("email_audience")}
    assert graph.get(REJECTS).parent_keys == {clean_key("email_audience")}
    assert graph.get(SINK).group_name == "listrak"


def test_a_sink_run_reads_the_settings_once(workspace: Workspace, emulator: Emulator) -> None:
    pl.DataFrame({"Email": addresses("a")}).write_csv(workspace.inbox / "email_audience.csv")
    workspace.settings()
    with reads_of(workspace.config) as reads:
        # Raw, clean and the sink (with its rejects) use the settings; the IO manager too.
        result = materialize(workspace, KEYS, listrak_email=api_resource(ListrakEmailApi, emulator))
        assert result.success, failure_messages(result)
        assert reads[str(workspace.config)] == 1
    assert on(emulator) == {"a@example.com"}


# Mirroring -------------------------------------------------------------------------------------


def test_first_send_creates_group_and_field_and_sets_members_on(
    workspace: Workspace, emulator: Emulator, email_api: OpenApi
) -> None:
    result = send(workspace, emulator, [" Ann@Example.com", "bob@example.com", "cy@example.com"])
    assert result.success, failure_messages(result)
    item = emulator.email.list_named("Newsletter")
    [group] = item.groups.values()
    [field] = item.fields.values()
    assert (group.name, field.name, field.data_type) == (GROUP, SEGMENT, "CheckBox")
    assert membership(emulator) == dict.fromkeys(addresses("ann", "bob", "cy"), "on")

    meta = materialization(result, SINK)
    assert (meta["members_added"], meta["members_kept"], meta["members_removed"]) == (3, 0, 0)
    assert meta["rows_sent"] == 3 and meta["dagster/row_count"] == 3
    assert meta["created"] == {
        "field_group": True,
        "membership_field": True,
        "attribute_fields": [],
    }
    assert meta["requests"] == sum(r.api != "other" for r in emulator.requests)
    assert meta["write_requests"] == emulator.writes == 3  # group, field, one import
    assert meta["bytes_sent"] > 0
    [imported] = meta["imports"]
    assert imported["status"] == "Completed" and imported["summary"]["subscribedCount"] == 3
    assert meta["import_summary"]["processedCount"] == 3

    # The same, read back over Listrak's REST API.
    with email_api() as api:
        read = list(api.contacts(item.list_id, (field.field_id,)))
    assert {c["emailAddress"]: c["segmentationFieldValues"][0]["value"] for c in read} == (
        dict.fromkeys(addresses("ann", "bob", "cy"), "on")
    )


def test_second_send_turns_off_exactly_the_leavers_and_on_the_newcomers(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("a", "b", "c", "d")).success
    # Someone else's contact on the same list, never in our audience.
    emulator.email.seed_contact("Newsletter", "other@example.com")

    result = send(workspace, emulator, addresses("c", "d", "e"), guard=LIFTED)
    assert result.success, failure_messages(result)
    assert on(emulator) == set(addresses("c", "d", "e"))
    assert off(emulator) == set(addresses("a", "b"))
    assert "other@example.com" not in membership(emulator)
    item = emulator.email.list_named("Newsletter")
    assert all(c.subscribed for c in item.contacts.values())  # nobody unsubscribed
    assert len(item.groups) == len(item.fields) == 1  # found, not created again
    meta = materialization(result, SINK)
    assert (meta["members_added"], meta["members_kept"], meta["members_removed"]) == (1, 2, 2)
    # A delta: the newcomer on, the leavers off; c and d are as last sent.
    assert [(i["action"], i["rows"]) for i in meta["imports"]] == [("on", 1), ("off", 2)]
    assert sorted(state(workspace).members(item.list_id, next(iter(item.fields)))) == (
        addresses("c", "d", "e")
    )


def test_an_unsubscribed_contact_is_not_resubscribed(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.email.seed_contact("Newsletter", "gone@example.com", subscribed=False)
    result = send(workspace, emulator, addresses("gone", "here"))
    assert result.success, failure_messages(result)
    item = emulator.email.list_named("Newsletter")
    assert not item.contacts["gone@example.com"].subscribed
    assert on(emulator) == {"here@example.com"}
    rejects = pl.read_parquet(workspace.warehouse / "listrak" / "email_audience_rejects.parquet")
    assert rejects.select("email", "action", "result").rows() == [
        ("g***", "on", "PreviouslyUnsubscribed")  # masked: PII is restricted by default
    ]
    assert len(rejects["email_sha256"][0]) == 64
    meta = materialization(result, SINK)
    assert meta["rejected_contacts"] == 1
    assert meta["import_summary"]["previouslyUnsubscribedCount"] == 1
    assert materialization(result, REJECTS)["rejects_by_result"] == {"PreviouslyUnsubscribed": 1}
    # Nothing in any request asked Listrak to override an unsubscribe.
    assert not any("overrideUnsubscribe" in r.query for r in emulator.requests)


def test_files_are_split_into_chunks(workspace: Workspace, emulator: Emulator) -> None:
    emails = addresses(*(f"m{i}" for i in range(7)))
    result = send(workspace, emulator, emails, chunk_rows=3)
    assert result.success, failure_messages(result)
    meta = materialization(result, SINK)
    assert [i["rows"] for i in meta["imports"]] == [3, 3, 1]
    assert len({i["import_id"] for i in meta["imports"]}) == 3
    assert on(emulator) == set(emails)


# Attribute columns -----------------------------------------------------------------------------


def test_unmatched_columns_fail_before_anything_is_written(
    workspace: Workspace, emulator: Emulator
) -> None:
    result = send(
        workspace,
        emulator,
        addresses("a"),
        columns={"Tier": ["Gold"]},
        unmatched_columns="fail",
    )
    message = failed_before_writing(result, emulator)
    assert "audience columns Tier have no profile field" in message
    assert "unmatched_columns" in message


def test_unmatched_columns_are_created_and_filled(workspace: Workspace, emulator: Emulator) -> None:
    result = send(
        workspace,
        emulator,
        addresses("a", "b"),
        columns={"FirstName": ["Ann", "Bob"], "Tier": ["Gold", None]},
        unmatched_columns="create",
    )
    assert result.success, failure_messages(result)
    values = {
        name: emulator.email.field_values("Newsletter", GROUP, name)
        for name in ("firstname", "Tier")
    }
    assert values == {
        "firstname": {"a@example.com": "Ann", "b@example.com": "Bob"},
        "Tier": {"a@example.com": "Gold"},
    }
    meta = materialization(result, SINK)
    # lastname is in every clean audience, but empty here: nothing to create it for.
    assert meta["created"]["attribute_fields"] == ["firstname", "Tier"]
    assert meta["mapped_columns"] == {"firstname": "firstname", "Tier": "Tier"}
    fields = {f.name: f for f in emulator.email.list_named("Newsletter").fields.values()}
    assert (fields["firstname"].max_length, fields["Tier"].max_length) == (50, 500)


def test_unmatched_columns_are_dropped_with_a_warning_and_matched_ones_sent(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("a")).success  # creates the group
    item = emulator.email.list_named("Newsletter")
    [group_id] = item.groups
    emulator.email.lists[item.list_id].fields[9999] = type(next(iter(item.fields.values())))(
        9999, group_id, "Tier", "Text", 4, 2
    )  # a field made in Listrak's UI, named with another case, 4 characters long
    result = send(
        workspace,
        emulator,
        addresses("a"),
        columns={"tier": ["Platinum"], "x": ["1"]},
        unmatched_columns="warn",  # the shipped sample settings create them
    )
    assert result.success, failure_messages(result)
    meta = materialization(result, SINK)
    assert meta["unmatched_columns"] == ["x"]
    assert meta["mapped_columns"] == {"tier": "Tier"}
    assert meta["values_cut_to_field_length"] == 1
    assert emulator.email.field_values("Newsletter", GROUP, "Tier") == {"a@example.com": "Plat"}


# Failures that say what to do ------------------------------------------------------------------


def test_a_wrong_list_name_lists_the_lists_and_writes_nothing(
    workspace: Workspace, emulator: Emulator
) -> None:
    result = send(workspace, emulator, addresses("a"), list_name="Newsleter")
    message = failed_before_writing(result, emulator)
    assert "invalid list name 'Newsleter'" in message and "'Newsletter'" in message


def test_bad_credentials_mention_the_allowlist_and_never_the_secret(
    workspace: Workspace, emulator: Emulator
) -> None:
    resource = api_resource(ListrakEmailApi, emulator, client_secret="wrong-secret-123")
    result = send(workspace, emulator, addresses("a"), resource=resource)
    message = failed_before_writing(result, emulator)
    assert "Invalid Credentials" in message and "allowlist" in message
    assert "wrong-secret-123" not in message
    real_secret = emulator.credentials[Integration.EMAIL].client_secret
    for event in result.all_events:
        assert "wrong-secret-123" not in str(event) and real_secret not in str(event)


def test_missing_credentials_name_the_variable(
    workspace: Workspace, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LISTRAK_EMAIL_CLIENT_ID", raising=False)
    result = send(
        workspace,
        emulator,
        addresses("a"),
        resource=api_resource(ListrakEmailApi, emulator, client_id=None),
    )
    assert not result.success
    assert "set LISTRAK_EMAIL_CLIENT_ID" in failure_messages(result)[0]
    # The tables were built all the same: only the sink needs Listrak.
    assert workspace.clean("email_audience").height == 1


def test_credentials_and_urls_come_from_the_environment(
    workspace: Workspace, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in EMAIL_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert ListrakEmailApi.from_env() == ListrakEmailApi()  # nothing set: no EnvVar to fail
    monkeypatch.setenv("LISTRAK_EMAIL_CLIENT_ID", "x")
    assert ListrakEmailApi.from_env().client_id == dg.EnvVar("LISTRAK_EMAIL_CLIENT_ID")
    # Set after the resource was made (as a demo that starts the emulator does): read at run time.
    resource = ListrakEmailApi()
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    result = send(workspace, emulator, addresses("a"), resource=resource)
    assert result.success, failure_messages(result)
    assert on(emulator) == {"a@example.com"}


def test_a_401_mid_run_gets_a_new_token_and_finishes(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.revoke_tokens_after(4)  # after the list, the groups, the fields and one create
    result = send(workspace, emulator, addresses("a", "b"))
    assert result.success, failure_messages(result)
    assert on(emulator) == set(addresses("a", "b"))
    assert materialization(result, SINK)["http"]["reauthentications"] == 1
    assert sum(r.status == 401 for r in emulator.requests) == 1
    assert sum(r.api == "auth" for r in emulator.requests) == 2


# The mirror state across failed runs -----------------------------------------------------------


def test_a_failed_import_stops_the_send_and_a_rerun_converges(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("a", "b", "c", "d")).success
    item = emulator.email.list_named("Newsletter")
    [field_id] = item.fields

    # Second send, a full one: files [c d] [e f] [g] on, [a b] off; the second import fails.
    emulator.email.fail_import(after=1)
    full = {"full_send_days": 0}
    failed = send(workspace, emulator, addresses("c", "d", "e", "f", "g"), chunk_rows=2, email=full)
    assert not failed.success
    [message] = failure_messages(failed)
    assert "ended with status 'Failed'" in message and "next run sends everything again" in message
    assert on(emulator) == set(addresses("a", "b", "c", "d"))  # stopped at the failure
    assert sorted(state(workspace).members(item.list_id, field_id)) == addresses("a", "b", "c", "d")
    assert sorted(state(workspace).pending(item.list_id, field_id)) == (
        addresses("c", "d", "e", "f", "g")
    )

    # Third send, another audience: everyone the earlier sends may have turned on and who
    # is not in it now is turned off; no current member ever is.
    result = send(
        workspace, emulator, addresses("d", "e", "h"), chunk_rows=2, guard=LIFTED, email=full
    )
    assert result.success, failure_messages(result)
    assert on(emulator) == set(addresses("d", "e", "h"))
    assert off(emulator) == set(addresses("a", "b", "c"))
    meta = materialization(result, SINK)
    assert meta["members_removed"] == 5  # a b c f g; f and g were never on the list
    assert meta["rejected_contacts"] == 0
    assert sorted(state(workspace).members(item.list_id, field_id)) == addresses("d", "e", "h")
    assert not state(workspace).pending_path.exists()


def test_faults_on_a_fifth_of_requests_still_end_in_the_right_state(
    workspace: Workspace, emulator: Emulator
) -> None:
    # Each request draws its fate in order and the client is sequential, so with this seed
    # the first 30 requests (every run makes more) meet each kind of fault at least once.
    emulator.set_faults(throttle=0.05, errors=0.05, drops=0.05, drops_after=0.05, seed=9)
    first = addresses(*(f"p{i}" for i in range(12)))
    assert send(workspace, emulator, first, chunk_rows=4).success
    second = addresses(*(f"p{i}" for i in range(6, 18)))
    result = send(workspace, emulator, second, chunk_rows=4)
    assert result.success, failure_messages(result)

    assert on(emulator) == set(second)
    assert off(emulator) == set(first) - set(second)
    item = emulator.email.list_named("Newsletter")
    assert [g.name for g in item.groups.values()] == [GROUP]  # no duplicate from a lost answer
    assert [f.name for f in item.fields.values()] == [SEGMENT]
    faults = [r.fault for r in emulator.requests if r.fault]
    assert {"429", "500", "drop", "drop_after"} <= set(faults)
    assert materialization(result, SINK)["retries"] > 0


# Dry run ---------------------------------------------------------------------------------------


def test_a_dry_run_shows_the_send_and_writes_nothing(
    workspace: Workspace, emulator: Emulator
) -> None:
    assert send(workspace, emulator, addresses("a", "b", "c")).success
    writes, members = emulator.writes, membership(emulator)
    state_file = state(workspace).members_path.read_bytes()

    result = send(workspace, emulator, addresses("b", "c", "d", "e"), dry_run=True)
    assert result.success, failure_messages(result)
    assert emulator.writes == writes
    assert membership(emulator) == members
    assert state(workspace).members_path.read_bytes() == state_file
    meta = materialization(result, SINK)
    assert meta["dry_run"] is True
    assert (meta["members_added"], meta["members_kept"], meta["members_removed"]) == (2, 2, 1)
    # b and c are as last sent: a delta of d and e on, a off.
    assert meta["rows_sent"] == 0 and meta["rows_to_send"] == 3
    assert meta["write_requests"] == 0
    assert [(i["action"], i["rows"], i["import_id"]) for i in meta["imports"]] == [
        ("on", 2, None),
        ("off", 1, None),
    ]
    assert all(i["bytes"] > 0 for i in meta["imports"])


def test_a_dry_run_on_a_fresh_list_says_what_it_would_create(
    workspace: Workspace, emulator: Emulator
) -> None:
    result = send(
        workspace,
        emulator,
        addresses("a"),
        columns={"Tier": ["Gold"]},
        dry_run=True,
        unmatched_columns="create",
    )
    assert result.success, failure_messages(result)
    assert emulator.writes == 0
    assert materialization(result, SINK)["would_create"] == [
        f"field group {GROUP!r}",
        f"CheckBox field {SEGMENT!r}",
        "Text field 'Tier'",
    ]
    assert emulator.email.list_named("Newsletter").groups == {}


def test_pii_is_shown_when_business_users_may_see_it(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.email.banned.add("spam@example.com")
    result = send(
        workspace,
        emulator,
        addresses("spam", "ok"),
        business_user_access={"allow_limited_pii": True},
    )
    assert result.success, failure_messages(result)
    rejects = pl.read_parquet(workspace.warehouse / "listrak" / "email_audience_rejects.parquet")
    assert rejects.select("email", "result").rows() == [("spam@example.com", "Banned")]


@pytest.mark.parametrize("key", ["list_name", "segment_name"])
def test_empty_required_settings_are_named(
    workspace: Workspace, emulator: Emulator, key: str
) -> None:
    result = send(workspace, emulator, addresses("a"), **{key: ""})
    assert not result.success
    assert f"`{key}` is empty" in failure_messages(result)[0]


def test_rejected_contacts_above_the_limit_fail_the_run_after_recording_them(
    workspace: Workspace, emulator: Emulator
) -> None:
    """Honest outcomes: with `email.max_rejected_contacts` set, a send whose imports left
    more contacts un-updated fails, after its rejects and metadata are recorded."""
    emulator.email.banned.update(addresses("banned1", "banned2"))
    audience = addresses("banned1", "banned2", "fine")
    within = send(workspace, emulator, audience, email={"max_rejected_contacts": 2})
    assert within.success, failure_messages(within)

    emulator.email.banned.add("fine@example.com")
    over = send(
        workspace, emulator, audience, email={"max_rejected_contacts": 2, "full_send_days": 0}
    )
    assert not over.success
    [message] = failure_messages(over)
    assert message.startswith("Listrak's imports did not update 3 contacts")
    assert "`email.max_rejected_contacts` is 2" in message
    assert materialization(over, SINK)["rejected_contacts"] == 3
    rejects = pl.read_parquet(workspace.warehouse / "listrak" / "email_audience_rejects.parquet")
    assert rejects.height == 3


# Delta sends -----------------------------------------------------------------------------------


def import_rows_received(emulator: Emulator, since: int = 0) -> list[tuple[str, str]]:
    """(file name, email) of every row the emulator's imports processed after the first
    `since` imports: what was really sent."""
    assert emulator.email.wait_idle()
    with emulator.email.lock:
        found = emulator.email.list_named("Newsletter").imports.values()
        jobs = sorted(found, key=lambda j: j.import_id)
        return [(job.file_name, email) for job in jobs[since:] for email, _ in job.results]


def imports_received(emulator: Emulator) -> int:
    with emulator.email.lock:
        return len(emulator.email.list_named("Newsletter").imports)


def tiers(emulator: Emulator) -> dict[str, str]:
    return emulator.email.field_values("Newsletter", GROUP, "Tier")


def test_an_unchanged_rerun_imports_nothing(workspace: Workspace, emulator: Emulator) -> None:
    emails = addresses(*(f"u{i}" for i in range(20)))
    columns = {"Tier": [f"t{i % 3}" for i in range(20)]}
    first = send(workspace, emulator, emails, columns=columns, unmatched_columns="create")
    assert first.success, failure_messages(first)
    assert materialization(first, SINK)["send_mode"].startswith("full: ")
    before, writes = imports_received(emulator), emulator.writes

    again = send(workspace, emulator, emails, columns=columns, unmatched_columns="create")
    assert again.success, failure_messages(again)
    assert imports_received(emulator) == before and emulator.writes == writes  # no write at all
    meta = materialization(again, SINK)
    assert meta["outcome"] == "unchanged, 0 sent"
    assert (meta["send_mode"], meta["rows_sent"], meta["imports"]) == ("delta", 0, [])
    assert (meta["members_kept"], meta["members_unchanged"]) == (20, 20)
    assert on(emulator) == set(emails)


def test_ten_percent_churn_sends_only_the_changed_rows(
    workspace: Workspace, emulator: Emulator
) -> None:
    emails = addresses(*(f"c{i:03d}" for i in range(200)))
    tier = [f"t{i % 4}" for i in range(200)]
    assert send(
        workspace, emulator, emails, columns={"Tier": tier}, unmatched_columns="create"
    ).success
    before = imports_received(emulator)

    # 10% churn: 10 change an attribute, 5 leave, 5 join (the guard allows 2.5% leaving).
    changed = [f"x{i}" if i in range(0, 100, 10) else t for i, t in enumerate(tier)]
    joined = addresses(*(f"n{i}" for i in range(5)))
    now = [*emails[5:], *joined]
    result = send(
        workspace,
        emulator,
        now,
        columns={"Tier": [*changed[5:], *["new"] * 5]},
        unmatched_columns="create",
    )
    assert result.success, failure_messages(result)
    received = import_rows_received(emulator, before)
    churn = {*addresses(*(f"c{i:03d}" for i in range(10, 100, 10))), *emails[:5], *joined}
    assert len(churn) == 19  # c000 is among the leavers as well as the changed
    assert len(received) <= 1.1 * len(churn)
    assert {e for _, e in received} == churn
    meta = materialization(result, SINK)
    assert meta["send_mode"] == "delta" and meta["rows_sent"] == len(received) == 19
    assert meta["members_unchanged"] == 200 - 5 - 9
    assert on(emulator) == set(now) and off(emulator) == set(emails[:5])
    assert {e: tiers(emulator)[e] for e in now} == dict(
        zip(now, [*changed[5:], *["new"] * 5], strict=True)
    )


def test_the_reconcile_tag_sends_the_whole_audience(
    workspace: Workspace, emulator: Emulator
) -> None:
    emails = addresses(*(f"r{i}" for i in range(12)))
    assert send(workspace, emulator, emails).success
    before = imports_received(emulator)
    result = send(workspace, emulator, emails, tags={"listrak/reconcile": "true"})
    assert result.success, failure_messages(result)
    assert sorted(e for _, e in import_rows_received(emulator, before)) == sorted(emails)
    meta = materialization(result, SINK)
    assert meta["send_mode"] == "full: reconciliation" and meta["rows_sent"] == 12
    # The setting does the same for every run.
    before = imports_received(emulator)
    result = send(workspace, emulator, emails, email={"reconcile": True})
    assert result.success, failure_messages(result)
    assert len(import_rows_received(emulator, before)) == 12


def test_a_full_send_comes_every_full_send_days(workspace: Workspace, emulator: Emulator) -> None:
    emails = addresses(*(f"d{i}" for i in range(6)))
    assert send(workspace, emulator, emails, email={"full_send_days": 3}).success
    path = state(workspace).members_path
    info = json.loads(pl.read_parquet_metadata(path)[META_KEY])
    today = datetime.now(UTC).date()
    assert info["sent"]["full_send"] == today.isoformat()

    # Two days later: a delta (nothing to send); three days later: everyone again.
    for days, mode, rows in ((2, "delta", 0), (3, "full: the last full send was on", 6)):
        moved = {**info, "sent": {**info["sent"], "full_send": str(today - timedelta(days))}}
        pl.read_parquet(path).write_parquet(path, metadata={META_KEY: json.dumps(moved)})
        result = send(workspace, emulator, emails, email={"full_send_days": 3})
        assert result.success, failure_messages(result)
        meta = materialization(result, SINK)
        assert meta["send_mode"].startswith(mode) and meta["rows_sent"] == rows
    info = json.loads(pl.read_parquet_metadata(path)[META_KEY])
    assert info["sent"]["full_send"] == today.isoformat()  # the full send is the new mark

    # 0: every send is a full one.
    result = send(workspace, emulator, emails, email={"full_send_days": 0})
    assert materialization(result, SINK)["rows_sent"] == 6


def test_a_failed_import_records_nothing_as_sent(workspace: Workspace, emulator: Emulator) -> None:
    emails = addresses("a", "b", "c", "d")
    old = {"Tier": ["1", "1", "1", "1"]}
    assert send(workspace, emulator, emails, columns=old, unmatched_columns="create").success

    # b and c change; one import a row: b's lands, c's fails.
    emulator.email.fail_import(after=1)
    new = {"Tier": ["1", "2", "2", "1"]}
    failed = send(
        workspace, emulator, emails, columns=new, chunk_rows=1, unmatched_columns="create"
    )
    assert not failed.success
    assert tiers(emulator) == {
        "a@example.com": "1",
        "b@example.com": "2",
        "c@example.com": "1",
        "d@example.com": "1",
    }

    # Back to the old values: b's change reached Listrak, so b goes again though its row is
    # what the last finished send recorded; c too (its import never finished).
    before = imports_received(emulator)
    result = send(workspace, emulator, emails, columns=old, unmatched_columns="create")
    assert result.success, failure_messages(result)
    assert sorted(e for _, e in import_rows_received(emulator, before)) == addresses("b", "c")
    assert tiers(emulator) == dict.fromkeys(emails, "1")
    before = imports_received(emulator)
    assert send(workspace, emulator, emails, columns=old, unmatched_columns="create").success
    assert imports_received(emulator) == before


def test_a_new_column_sends_everyone_once(workspace: Workspace, emulator: Emulator) -> None:
    emails = addresses("a", "b", "c")
    assert send(workspace, emulator, emails, unmatched_columns="create").success
    before = imports_received(emulator)
    result = send(
        workspace, emulator, emails, columns={"Tier": ["1", "2", "3"]}, unmatched_columns="create"
    )
    assert result.success, failure_messages(result)
    meta = materialization(result, SINK)
    assert meta["send_mode"] == "full: the columns or the hash function changed"
    assert len(import_rows_received(emulator, before)) == 3


def test_row_hashes_are_the_same_in_another_process() -> None:
    """Each run is a new process: a hash that changed with the process would resend all."""
    code = (
        "import polars as pl\n"
        "from listrak_assets.listrak.delta import row_hashes\n"
        "frame = pl.DataFrame({'email': ['a@x.com', 'b@y.com'], 'Tier': ['1', None]})\n"
        "print(row_hashes(frame)['row_hash'].to_list())\n"
    )
    here = row_hashes(pl.DataFrame({"email": ["a@x.com", "b@y.com"], "Tier": ["1", None]}))
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert there.strip() == str(here["row_hash"].to_list())
    assert here["row_hash"].n_unique() == 2
