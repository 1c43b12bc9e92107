"""A forgotten person who comes back in a later export: nothing is sent for them, their new
copies (inbox file, raw table, rejects values) are erased in the same run, and the rewrite
starts no follow-up run."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg
import polars as pl

from listrak_assets.definitions import defs
from listrak_assets.defs.archive import consumed_inputs
from listrak_assets.defs.keys import (
    FORGET_REQUESTS_KEY,
    SUPPRESSION_KEY,
    clean_key,
    raw_key,
    rejects_key,
)
from listrak_assets.defs.reappearances import REAPPEARANCES_KEY
from listrak_assets.defs.resources import ListrakEmailApi, ListrakErasure, ListrakPrivacyApi
from listrak_assets.defs.sensors import inbox_sensor
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.erasure.scrub import Erasure, Matcher, scrub_inputs
from listrak_assets.inbox.archive import archive_consumed
from listrak_assets.inbox.snapshot import stat_files
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.suppression import Suppression, digest
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.sink_fixtures import api_resource
from listrak_assets_tests.test_erasure import EMAIL, FORGET_FILE, SALT, _mentions, _sent, traces

CUSTOMERS = (
    "Email,CustomerNumber,FirstName\n"
    "ada@example.com,1001,Ada\n"
    " Forget.Me@Example.org ,1002,Fiona\n"
    "bob@example.com,1003,Bob\n"
)
AUDIENCE = "email,firstname\nada@example.com,Ada\nFORGET.ME@example.org,Fiona\n"


def _settled(path: Path) -> None:
    """Last modified a minute ago: past the sensor's settle time."""
    then = time.time() - 60
    os.utime(path, (then, then))


def _tick(workspace: Workspace, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=workspace.instance,
        cursor=cursor,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=defs,
    )
    result = inbox_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def _requests(tick: dg.SensorResult | dg.SkipReason) -> list[dg.RunRequest]:
    return list(tick.run_requests or []) if isinstance(tick, dg.SensorResult) else []


def _run(
    workspace: Workspace, emulator: Emulator, selection: dg.AssetSelection
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=selection,
        resources={
            **workspace.resources(),
            "listrak_email": api_resource(ListrakEmailApi, emulator),
            "listrak_privacy": api_resource(ListrakPrivacyApi, emulator),
            "erasure": ListrakErasure(salt=SALT),
        },
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    return result


def test_a_forgotten_person_who_comes_back_is_erased_in_the_same_run(
    workspace: Workspace, emulator: Emulator
) -> None:
    workspace.settings(business_user_access={"allow_limited_pii": True}, inbox_archive=True)
    # Forgotten first: Listrak accepted the request, the request file is scrubbed.
    workspace.write("forget.csv", FORGET_FILE)
    erasure = [raw_key("forget"), clean_key("forget"), rejects_key("forget")]
    _run(
        workspace,
        emulator,
        dg.AssetSelection.assets(*erasure, SUPPRESSION_KEY, FORGET_REQUESTS_KEY),
    )
    assert (workspace.inbox / "forget.csv").read_text() == "email,phone\n"

    # They come back in two new exports; the sensor starts one run for both tables.
    for name, text in (("customers.csv", CUSTOMERS), ("email_audience.csv", AUDIENCE)):
        _settled(workspace.write(name, text))
    delivered = stat_files(sorted(workspace.inbox.glob("[ce]*.csv")))
    first = _tick(workspace, None)
    [request] = _requests(first)
    # The request file erasure rewrote is no news either.
    assert request.tags["listrak/tables"] == "customers,email_audience"
    # The customer file sink is left out: this test starts no SFTP server.
    selection = dg.AssetSelection.assets(
        *(request.asset_selection or [])
    ) - dg.AssetSelection.assets(dg.AssetKey(["listrak", "customer_file"]))
    assert REAPPEARANCES_KEY in selection.resolve(defs.resolve_asset_graph())
    emulator.clear_requests()
    result = _run(workspace, emulator, selection)

    # Nothing was sent for them, and no file holds them any more.
    assert not [s for s in _sent(emulator) if _mentions(s)]
    assert "ada@example.com" in emulator.email.list_named("Newsletter").contacts
    assert traces(workspace.root) == []
    meta = materialization(result, REAPPEARANCES_KEY)
    assert meta["tables_with_forgotten_people"] == ["customers", "email_audience"]
    removed = meta["rows_removed_by_file"]
    assert isinstance(removed, dict)
    for place in (
        "raw/customers.parquet",
        "raw/email_audience.parquet",
        "inbox/customers.csv",
        "inbox/email_audience.csv",
    ):
        assert removed[place] == 1, removed
    assert not any(_mentions(str(k)) for k in removed)
    # Everyone else is still there, byte for byte; the files keep their arrival time.
    assert (workspace.inbox / "customers.csv").read_text() == (
        "Email,CustomerNumber,FirstName\nada@example.com,1001,Ada\nbob@example.com,1003,Bob\n"
    )
    for name, (_, mtime) in delivered.items():
        assert (workspace.inbox / name).stat().st_mtime_ns == mtime
    # The rejects still say why their rows went, with masked values only.
    for table in ("customers", "email_audience"):
        forgotten = workspace.rejects(table).filter(pl.col("reason") == "forgotten")
        assert forgotten["source_file"].to_list() == [f"{table}.csv"], table
        assert forgotten["value"].str.ends_with("***").all()

    # The rewrite is no new export: the sensor starts nothing, with its cursor or without.
    assert not _requests(_tick(workspace, first.cursor))
    assert not _requests(_tick(workspace, None))
    # The files count as what the run read, so archiving still takes them.
    consumed = consumed_inputs(workspace.instance, result.run_id)
    archive = workspace.root / "data" / "archive"
    done = archive_consumed(workspace.inbox, archive, dt.date(2026, 12, 2), consumed)
    assert set(done.moved) == {"customers.csv", "email_audience.csv"}, done.kept

    # A real change after the rewrite is news again.
    moved = done.moved["customers.csv"]
    _settled(workspace.write("customers.csv", moved.read_text() + "cy@example.com,1004,Cy\n"))
    assert _requests(_tick(workspace, first.cursor))


def test_a_rewritten_inbox_file_counts_as_delivered_until_it_changes(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "email_audience.csv"
    path.write_text(f"email\na@example.org\n{EMAIL}\n")
    other = inbox / "customers.csv"
    other.write_text("email\nb@example.org\n")
    before = stat_files([path, other])
    matcher = Matcher(Suppression(SALT, emails=frozenset({digest(SALT, "email", EMAIL)})))

    scrub_inputs(inbox, matcher, Erasure(), by_origin=False, watched=True)
    assert path.read_text() == "email\na@example.org\n"
    assert path.stat().st_size != before[path.name][0]
    assert stat_files([path, other]) == before
    # Rewritten again (nothing to remove: unchanged), then changed by whoever delivers it.
    scrub_inputs(inbox, matcher, Erasure(), by_origin=False, watched=True)
    assert stat_files([path]) == {path.name: before[path.name]}
    path.write_text("email\na@example.org\nc@example.org\n")
    assert stat_files([path]) != {path.name: before[path.name]}

    # Outside the watched inbox nothing is noted, yet the file keeps its arrival time.
    archive = tmp_path / "archive"
    archive.mkdir()
    kept = archive / "email_audience.csv"
    kept.write_text(f"email\n{EMAIL}\nz@example.org\n")
    mtime = kept.stat().st_mtime_ns - 10**12
    os.utime(kept, ns=(mtime, mtime))
    scrub_inputs(archive, matcher, Erasure(), by_origin=False)
    assert kept.read_text() == "email\nz@example.org\n"
    assert kept.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in archive.iterdir()) == ["email_audience.csv"]
