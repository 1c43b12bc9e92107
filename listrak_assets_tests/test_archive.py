"""The archive model of the inbox (`inbox_archive: true`): after a successful run the files
it consumed move to `<archive>/<YYYY-MM-DD>/`, a table with no new file is unchanged rather
than missing, and `python -m listrak_assets.replay DATE` copies a day back. Real folders, real
runs on a real instance, the run-status sensor called through Dagster's context."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from listrak_assets.defs import email_sink
from listrak_assets.defs.archive import inbox_archive_sensor
from listrak_assets.defs.audience_sink import require_audience
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.inbox.archive import (
    Consumed,
    ReplayError,
    archive_consumed,
    ever_archived,
    move_into,
    replay,
)
from listrak_assets.inbox.snapshot import fingerprint, stat_files
from listrak_assets.required_input import InputMissing
from listrak_assets.settings import load_settings
from listrak_assets_tests.conftest import Workspace, failure_messages

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "inbox"
DAY = dt.date(2026, 12, 1)


def _head(name: str) -> str:
    return "".join(SAMPLE.joinpath(name).read_text(encoding="utf-8").splitlines(True)[:2])


def _land(workspace: Workspace, *names: str) -> None:
    for name in names:
        path = workspace.write(name, _head(name))
        then = time.time() - 60
        os.utime(path, (then, then))


def _archive_after(workspace: Workspace, result: dg.ExecuteInProcessResult) -> None:
    """Evaluate the archive sensor on the run's success, as the daemon would."""
    [event] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS]
    context = dg.build_run_status_sensor_context(
        sensor_name="inbox_archive",
        dagster_event=event,
        dagster_instance=workspace.instance,
        dagster_run=result.dagster_run,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
    )
    inbox_archive_sensor(context)


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


# --- the core: moves, collisions, replays -----------------------------------------------


def test_a_move_never_overwrites_a_file_archived_that_day(tmp_path: Path) -> None:
    inbox, folder = tmp_path / "inbox", tmp_path / "archive" / DAY.isoformat()
    inbox.mkdir()
    names = []
    for n in range(3):
        path = inbox / "customers.csv"
        path.write_text(f"email\nexport{n}@example.com\n")
        names.append(move_into(path, folder).name)
        assert not path.exists()
    assert names == ["customers.csv", "customers_2.csv", "customers_3.csv"]
    assert (folder / "customers.csv").read_text().endswith("export0@example.com\n")
    assert (folder / "customers_3.csv").read_text().endswith("export2@example.com\n")


def test_only_files_still_as_the_run_read_them_move(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    for name in ("customers.csv", "customers_2026-11-30.csv", "orders.csv"):
        (inbox / name).write_text("a\n1\n")
    consumed = {
        t: Consumed(fingerprint(stat_files(sorted(inbox.glob(f"{t}*")))))
        for t in ("customers", "orders")
    }
    (inbox / "orders_late.csv").write_text("a\n2\n")  # landed after the run read orders

    done = archive_consumed(inbox, archive, DAY, consumed)
    assert sorted(done.moved) == ["customers.csv", "customers_2026-11-30.csv"]
    assert set(done.kept) == {"orders"}
    assert sorted(p.name for p in inbox.iterdir()) == ["orders.csv", "orders_late.csv"]
    assert sorted(p.name for p in (archive / "2026-12-01").iterdir()) == [
        "customers.csv",
        "customers_2026-11-30.csv",
    ]


def test_replay_copies_a_day_back_as_new_files(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    folder = archive / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_text("a\n1\n")
    os.utime(folder / "orders.csv", (1e9, 1e9))
    with pytest.raises(ReplayError, match="nothing archived on 2026-11-30"):
        replay(archive, dt.date(2026, 11, 30), inbox)

    [copied] = replay(archive, DAY, inbox)
    assert copied.read_text() == "a\n1\n"
    # Modified now, not when first exported: the sensor sees it as news and starts a run.
    assert copied.stat().st_mtime > 1e9 + 1
    assert (folder / "orders.csv").exists()  # the archive keeps its copy
    with pytest.raises(ReplayError, match="orders.csv already in"):
        replay(archive, DAY, inbox)


def test_the_replay_command_restores_an_archived_day(workspace: Workspace) -> None:
    workspace.settings(inbox_archive=True)
    archive = load_settings(workspace.config).archive
    (archive / "2026-12-01").mkdir(parents=True)
    (archive / "2026-12-01" / "customers.csv").write_text(_head("customers.csv"))
    command = [sys.executable, "-m", "listrak_assets.replay", "--config", str(workspace.config)]

    done = subprocess.run([*command, "2026-12-01"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "customers.csv" in done.stdout
    assert (workspace.inbox / "customers.csv").read_text() == _head("customers.csv")

    again = subprocess.run([*command, "2026-12-01"], capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "already in" in again.stderr
    bad = subprocess.run([*command, "1 Dec"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid fromisoformat value" in bad.stderr


# --- through Dagster --------------------------------------------------------------------


def test_a_successful_run_moves_what_it_consumed(workspace: Workspace) -> None:
    workspace.settings(inbox_archive=True)
    _land(workspace, "customers.csv", "orders.csv")
    result = workspace.materialize("customers", "orders")
    assert result.success, failure_messages(result)

    _archive_after(workspace, result)
    assert not list(workspace.inbox.iterdir())
    day = load_settings(workspace.config).archive / _today()
    assert sorted(p.name for p in day.iterdir()) == ["customers.csv", "orders.csv"]
    assert (day / "orders.csv").read_text() == _head("orders.csv")


def test_a_days_run_moves_its_days_files_and_no_other_days(workspace: Workspace) -> None:
    """Orders kept by day: the run of the 29th read the 29th's orders (and the tables kept
    whole); the 30th's orders, which it never read, stay for the 30th's run."""
    workspace.settings(inbox_archive=True, orders_by_day=True)
    _land(workspace, "customers.csv")
    for day in ("2026-11-29", "2026-11-30"):
        path = workspace.write(f"orders_{day}.csv", _head("orders.csv"))
        os.utime(path, (time.time() - 60, time.time() - 60))
    defs = build_definitions(Channels(email=False, sms=False), by_day=True)
    keys = [k for t in ("customers", "orders") for k in (raw_key(t), clean_key(t), rejects_key(t))]
    result = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=dg.AssetSelection.assets(*keys),
        resources=workspace.resources(),
        instance=workspace.instance,
        partition_key="2026-11-29",
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)

    _archive_after(workspace, result)
    assert [p.name for p in workspace.inbox.iterdir()] == ["orders_2026-11-30.csv"]
    day = load_settings(workspace.config).archive / _today()
    assert sorted(p.name for p in day.iterdir()) == ["customers.csv", "orders_2026-11-29.csv"]


def test_a_days_files_changed_since_its_run_stay(workspace: Workspace) -> None:
    workspace.settings(inbox_archive=True, orders_by_day=True)
    _land(workspace, "orders.csv")
    (workspace.inbox / "orders.csv").rename(workspace.inbox / "orders_2026-11-29.csv")
    defs = build_definitions(Channels(email=False, sms=False), by_day=True)
    result = dg.materialize(
        list(defs.assets or []),
        selection=dg.AssetSelection.assets(raw_key("orders")),
        resources=workspace.resources(),
        instance=workspace.instance,
        partition_key="2026-11-29",
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    # A second export of the same day landed after the run read the first.
    _land(workspace, "orders.csv")
    (workspace.inbox / "orders.csv").rename(workspace.inbox / "orders_2026-11-29_2.csv")

    _archive_after(workspace, result)
    assert sorted(p.name for p in workspace.inbox.iterdir()) == [
        "orders_2026-11-29.csv",
        "orders_2026-11-29_2.csv",
    ]
    assert not load_settings(workspace.config).archive.exists()


def test_with_the_archive_off_the_inbox_keeps_its_files(workspace: Workspace) -> None:
    _land(workspace, "customers.csv")
    result = workspace.materialize("customers")
    assert result.success, failure_messages(result)
    _archive_after(workspace, result)
    assert [p.name for p in workspace.inbox.iterdir()] == ["customers.csv"]
    assert not load_settings(workspace.config).archive.exists()


def test_in_the_archive_model_no_new_file_means_unchanged(workspace: Workspace) -> None:
    workspace.settings(inbox_archive=True)
    _land(workspace, "customers.csv")
    first = workspace.materialize("customers")
    assert first.success, failure_messages(first)
    _archive_after(workspace, first)
    before = workspace.clean("customers")

    # The inbox is empty: the raw table is not rebuilt (not read as empty), nothing
    # downstream runs, and the clean table stays as the last export made it.
    second = workspace.materialize("customers")
    assert second.success, failure_messages(second)
    assert not second.get_asset_materialization_events()
    assert workspace.clean("customers").equals(before)


def test_the_audience_sinks_missing_input_rule_follows_the_model(workspace: Workspace) -> None:
    conf = load_settings(workspace.config)
    with pytest.raises(InputMissing, match="no email_audience files"):
        require_audience(email_sink.EMAIL, conf)

    workspace.settings(inbox_archive=True)
    conf = load_settings(workspace.config)
    with pytest.raises(InputMissing):  # never delivered: still missing
        require_audience(email_sink.EMAIL, conf)
    folder = conf.archive / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "email_audience.csv").write_text(_head("email_audience.csv"))
    assert ever_archived(conf.archive, "email_audience")
    require_audience(email_sink.EMAIL, conf)  # consumed once: unchanged, not missing
