"""The settings resource reads `listrak.yaml` once per run, through real Dagster runs and
sensor ticks; reads are counted where Python opens the file (an audit hook), not by
replacing any of our code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.sensors import inbox_sensor
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets_tests.conftest import Workspace, failure_messages

_watched: dict[str, int] = {}


def _count_reads(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not isinstance(args[0], str | os.PathLike):
        return
    path, mode = os.fspath(args[0]), args[1]
    if path in _watched and isinstance(mode, str) and "r" in mode:
        _watched[path] += 1


sys.addaudithook(_count_reads)  # audit hooks can't be removed: this one only counts


@contextmanager
def reads_of(path: Path) -> Iterator[dict[str, int]]:
    """How often `path` is opened for reading inside the block (`reads[str(path)]`)."""
    _watched[str(path)] = 0
    try:
        yield _watched
    finally:
        _watched.pop(str(path))


def test_a_run_of_many_assets_reads_the_settings_once(workspace: Workspace) -> None:
    workspace.write("customers.csv", "email\na@example.com\n")
    workspace.write("products.csv", "sku,title,price\nA,T,1\n")
    workspace.write(
        "orders.csv", "ordernumber,dateentered,email,ordertotal\n1,2024-01-01,a@x.io,1\n"
    )
    with reads_of(workspace.config) as reads:
        # Three raw and three clean steps, each using the settings and storing its outputs
        # (the IO manager finds the warehouse in them); two steps load their input too.
        result = workspace.materialize("customers", "products", "orders")
        assert result.success
        assert len(result.get_asset_materialization_events()) == 9
        assert reads[str(workspace.config)] == 1


def test_each_run_reads_the_file_again(workspace: Workspace) -> None:
    workspace.write("customers.csv", "email,birthday\na@example.com,03/07/1984\n")
    with reads_of(workspace.config) as reads:
        assert workspace.materialize("customers").success
        assert workspace.clean("customers")["birthday"].to_list()[0].month == 3
        workspace.settings(date_order="DMY")  # an edit between runs applies to the next one
        assert workspace.materialize("customers").success
        assert workspace.clean("customers")["birthday"].to_list()[0].month == 7
        assert reads[str(workspace.config)] == 2


def test_a_bad_file_is_read_once_and_fails_the_step_that_uses_it(workspace: Workspace) -> None:
    workspace.settings(default_phone_country="XX")
    workspace.write("customers.csv", "email\na@example.com\n")
    workspace.write("products.csv", "sku,title,price\nA,T,1\n")
    with reads_of(workspace.config) as reads:
        result = workspace.materialize("customers", "products")
        assert not result.success
        assert reads[str(workspace.config)] == 1
    messages = failure_messages(result)
    assert len(messages) == 2  # both raw steps, each with the message naming the key
    assert all("'default_phone_country'" in m for m in messages)


def _tick(workspace: Workspace) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=workspace.instance,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=defs,
    )
    return inbox_sensor(context)


def test_a_sensor_tick_reads_the_file_once(workspace: Workspace) -> None:
    with reads_of(workspace.config) as reads:
        # An empty inbox: the sensor uses the settings twice, to look and to say where.
        empty = _tick(workspace)
        assert not isinstance(empty, dg.SensorResult) or not empty.run_requests
        assert reads[str(workspace.config)] == 1
        path = workspace.write("customers.csv", "email\na@example.com\n")
        os.utime(path, (time.time() - 60, time.time() - 60))  # settled
        started = _tick(workspace)
        assert isinstance(started, dg.SensorResult) and started.run_requests
        assert reads[str(workspace.config)] == 2


def test_outside_a_run_each_load_reads_the_file(workspace: Workspace) -> None:
    settings = ListrakSettings(path=str(workspace.config))
    with reads_of(workspace.config) as reads:
        assert settings.load().date_order == "MDY"
        workspace.settings(date_order="DMY")
        assert settings.load().date_order == "DMY"
        assert reads[str(workspace.config)] == 2


def test_the_definitions_load_without_a_settings_file(tmp_path: Path) -> None:
    """Without a settings file the definitions still load, every channel switched on (the
    steps then fail naming the missing file)."""
    env = {**os.environ, "LISTRAK_CONFIG": str(tmp_path / "missing.yaml")}
    script = (
        "from listrak_assets.definitions import defs\n"
        "print(len(defs.resolve_asset_graph().get_all_asset_keys()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 0
