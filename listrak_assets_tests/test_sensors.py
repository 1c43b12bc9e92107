"""The inbox sensor, evaluated through Dagster's sensor context over a real folder. The clock
is the real one; files are aged or made fresh with `os.utime`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.defs.sensors import fingerprint, inbox_files, inbox_sensor
from listrak_assets_tests.conftest import Workspace

Tick = dg.SensorResult | dg.SkipReason


def _tick(workspace: Workspace, cursor: str | None) -> Tick:
    context = dg.build_sensor_context(
        instance=workspace.instance,
        cursor=cursor,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=defs,
    )
    return inbox_sensor(context)


def _age(path: Path, seconds: float) -> None:
    """Make the file last modified `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _requests(tick: Tick) -> list[dg.RunRequest]:
    return list(tick.run_requests or []) if isinstance(tick, dg.SensorResult) else []


def _skip(tick: Tick) -> str:
    if isinstance(tick, dg.SkipReason):
        return tick.skip_message or ""
    assert not tick.run_requests
    return tick.skip_reason.skip_message if tick.skip_reason else ""


def _cursor(tick: Tick, before: str | None) -> str | None:
    return tick.cursor if isinstance(tick, dg.SensorResult) else before


def test_sensor_runs_once_per_new_or_changed_file(workspace: Workspace) -> None:
    assert "no input files" in _skip(_tick(workspace, None))

    path = workspace.write("customers.csv", "email\na@example.com\n")
    _age(path, 60)  # older than the 30 s settle time: ready at first sight
    started = _tick(workspace, None)
    [request] = _requests(started)
    assert request.run_key == f"inbox-{fingerprint(inbox_files(workspace.inbox))}"

    again = _tick(workspace, _cursor(started, None))
    assert "no new or changed file" in _skip(again)

    path.write_text("email\na@example.com\nb@example.com\n")
    _age(path, 45)
    changed = _tick(workspace, _cursor(again, None))
    [second] = _requests(changed)
    assert second.run_key != request.run_key


def test_a_file_triggers_nothing_until_it_has_settled(workspace: Workspace) -> None:
    workspace.settings(inbox_settle_seconds=30)
    ready = workspace.write("customers.csv", "email\na@example.com\n")
    _age(ready, 120)
    first = _tick(workspace, None)
    assert _requests(first)
    cursor = _cursor(first, None)

    # An export landing file by file: the orders file is still being written.
    landing = workspace.write("orders.csv", "ordernumber,email\n1,a@example.com\n")
    _age(landing, 2)
    waiting = _tick(workspace, cursor)
    assert "waiting for orders.csv to stop changing" in _skip(waiting)
    assert _cursor(waiting, cursor) == cursor  # still new at the next tick

    landing.write_text("ordernumber,email\n1,a@example.com\n2,a@example.com\n")
    _age(landing, 10)  # it changed again: still settling
    assert "waiting for orders.csv" in _skip(_tick(workspace, cursor))

    _age(landing, 31)  # quiet for longer than the settle time
    settled = _tick(workspace, cursor)
    assert len(_requests(settled)) == 1


def test_a_file_that_disappears_requests_no_run(workspace: Workspace) -> None:
    keep = workspace.write("customers.csv", "email\na@example.com\n")
    gone = workspace.write("email_audience.csv", "email\na@example.com\n")
    _age(keep, 60)
    _age(gone, 60)
    started = _tick(workspace, None)
    assert _requests(started)
    cursor = _cursor(started, None)

    gone.unlink()
    vanished = _tick(workspace, cursor)
    assert "email_audience.csv left it; a file that disappears starts no run" in _skip(vanished)
    assert isinstance(vanished, dg.SensorResult)  # the cursor forgets the file ...
    assert "email_audience.csv" not in (vanished.cursor or "")

    back = workspace.write("email_audience.csv", "email\na@example.com\n")
    _age(back, 60)
    assert _requests(_tick(workspace, vanished.cursor))  # ... so its return is news

    for path in (keep, back):
        path.unlink()
    empty = _tick(workspace, vanished.cursor)
    assert "no input files" in _skip(empty) and not _requests(empty)


def test_a_cursor_from_before_is_read_as_the_inbox_it_saw(workspace: Workspace) -> None:
    path = workspace.write("customers.csv", "email\na@example.com\n")
    _age(path, 60)
    old_cursor = fingerprint(inbox_files(workspace.inbox))  # what the sensor stored before
    assert "no new or changed file" in _skip(_tick(workspace, old_cursor))


def test_sensor_targets_the_refresh_job() -> None:
    assert inbox_sensor.job_name == "refresh"
    assert inbox_sensor.default_status == dg.DefaultSensorStatus.RUNNING
