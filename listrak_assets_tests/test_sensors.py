"""The inbox sensor, evaluated through Dagster's sensor context."""

from __future__ import annotations

import os

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.defs.sensors import inbox_sensor
from listrak_assets_tests.conftest import Workspace


def _tick(workspace: Workspace, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=workspace.instance,
        cursor=cursor,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=defs,
    )
    return inbox_sensor(context)


def test_sensor_runs_once_per_change_of_the_inbox(workspace: Workspace) -> None:
    first = _tick(workspace, None)
    assert isinstance(first, dg.SkipReason) and "no input files" in first.skip_message

    path = workspace.write("customers.csv", "email\na@example.com\n")
    started = _tick(workspace, None)
    assert isinstance(started, dg.SensorResult)
    [request] = started.run_requests
    assert request.run_key == f"inbox-{started.cursor}"

    again = _tick(workspace, started.cursor)
    assert isinstance(again, dg.SkipReason) and "unchanged" in again.skip_message

    path.write_text("email\na@example.com\nb@example.com\n")
    os.utime(path, ns=(1, 1))  # a new export, even within the same second
    changed = _tick(workspace, started.cursor)
    assert isinstance(changed, dg.SensorResult) and changed.cursor != started.cursor


def test_sensor_targets_the_refresh_job() -> None:
    assert inbox_sensor.job_name == "refresh"
    assert inbox_sensor.default_status == dg.DefaultSensorStatus.RUNNING
