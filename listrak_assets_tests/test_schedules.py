"""The nightly schedule: off by default, and when switched on in listrak.yaml (read when the
definitions load) it runs `publish_all` at the set time in the set time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from listrak_assets.definitions import defs
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.schedules import NAME, nightly_from_settings
from listrak_assets.settings import SettingsError, load_settings
from listrak_assets_tests.conftest import Workspace


def test_there_is_no_schedule_by_default(workspace: Workspace) -> None:
    assert not list(defs.schedules or [])
    assert nightly_from_settings(workspace.config) is None


def test_the_schedule_runs_publish_all_at_the_set_time(workspace: Workspace) -> None:
    workspace.settings(schedule={"enabled": True, "time": "03:15", "timezone": "Europe/London"})
    nightly = nightly_from_settings(workspace.config)
    assert nightly is not None
    definitions = build_definitions(Channels.from_settings(workspace.config), nightly)
    schedule = definitions.resolve_schedule_def(NAME)
    assert schedule.job_name == "publish_all"
    assert schedule.cron_schedule == "15 3 * * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    # A tick at the scheduled time asks for one run of the whole job (no subset).
    at = dt.datetime(2026, 12, 2, 3, 15, tzinfo=ZoneInfo("Europe/London"))
    with dg.build_schedule_context(instance=workspace.instance, scheduled_execution_time=at) as ctx:
        [request] = schedule.evaluate_tick(ctx).run_requests or []
    assert request.asset_selection is None and request.tags["dagster/schedule_name"] == NAME


def test_without_a_channel_there_is_nothing_to_schedule(workspace: Workspace) -> None:
    workspace.settings(schedule={"enabled": True})
    nightly = nightly_from_settings(workspace.config)
    assert nightly is not None
    off = build_definitions(Channels(email=False, sms=False, sftp=False), nightly)
    assert not list(off.schedules or [])


def test_an_unquoted_time_reads_as_the_time_it_looks_like(workspace: Workspace) -> None:
    """YAML 1.1 reads `time: 02:30` as the number 150 (base 60)."""
    workspace.config.write_text(
        workspace.config.read_text() + "schedule:\n  enabled: true\n  time: 02:30\n"
    )
    assert load_settings(workspace.config).schedule.time == "02:30"


@pytest.mark.parametrize(
    ("value", "problem"),
    [("24:00", "not a time of day"), ("2pm", "not a time of day"), ("7:5", "not a time of day")],
)
def test_a_bad_time_is_refused(workspace: Workspace, value: str, problem: str) -> None:
    workspace.settings(schedule={"enabled": True, "time": value})
    with pytest.raises(SettingsError, match=problem):
        load_settings(workspace.config)


def test_a_bad_time_zone_is_refused(workspace: Workspace) -> None:
    workspace.settings(schedule={"enabled": True, "timezone": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="unknown time zone 'Mars/Olympus'"):
        load_settings(workspace.config)
