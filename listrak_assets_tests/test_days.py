"""Orders and order items kept by export day (`orders_by_day: true`): the day in an inbox
file's name picks its partition, each partition makes that day's Listrak file, de-duplication
stays within a day, and the referential checks read every stored day."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from listrak_assets.cleaning.table import REJECT_COLUMNS
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.days import EXPORT_DAYS
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.defs.schedules import NAME
from listrak_assets.defs.sensors import TABLES_TAG, inbox_sensor
from listrak_assets.defs.sftp_sinks import SENT_FILES, file_key
from listrak_assets.defs.unchanged import FROM_STORED_TABLE, UNCHANGED, UNCHANGED_FROM
from listrak_assets.erasure.retention import mask_old_rejects
from listrak_assets.inbox.errors import InputFileError
from listrak_assets.inbox.export_date import export_date, files_of_day
from listrak_assets.sandbox.emulator import run_emulator
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.settings import NightlySchedule
from listrak_assets_tests.conftest import (
    INSTANCE_CONFIG,
    REPO,
    Workspace,
    failure_messages,
    materialization,
)
from listrak_assets_tests.sftp_servers import SftpServer

DAILY = ("orders", "order_items")
COMMERCE = ("customers", "products", *DAILY)


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        ("orders_2026-12-01.csv", "orders", dt.date(2026, 12, 1)),
        ("order_items_2026-11-30.parquet", "order_items", dt.date(2026, 11, 30)),
        ("orders-2026-12-01_part2.csv", "orders", dt.date(2026, 12, 1)),  # any separator
        ("orders.csv", "orders", None),  # undated: the run's day
        ("orders_late.csv", "orders", None),
        ("orders_2026-12-011.csv", "orders", None),  # not a date: a longer number
        ("orders 2026-12-01.csv", "orders", dt.date(2026, 12, 1)),
        ("ordersX2026-12-01.csv", "orders", None),  # no separator: not read as dated
        ("orders.2026-12-01.csv", "orders", None),
        ("orders2026-12-01.csv", "orders", None),
    ],
)
def test_the_export_date_is_read_from_the_file_name(
    name: str, table: str, expected: dt.date | None
) -> None:
    assert export_date(name, table) == expected


def test_a_name_dated_with_no_calendar_day_fails_naming_the_file() -> None:
    with pytest.raises(InputFileError, match=r"orders_2026-02-30\.csv.*not a calendar date"):
        export_date("orders_2026-02-30.csv", "orders")


def test_undated_files_belong_to_the_run_day() -> None:
    paths = [Path(n) for n in ("orders.csv", "orders_2026-11-30.csv", "orders_2026-12-01.csv")]
    today, yesterday = dt.date(2026, 12, 1), dt.date(2026, 11, 30)
    assert files_of_day(paths, "orders", today, today) == [paths[0], paths[2]]
    assert files_of_day(paths, "orders", yesterday, today) == [paths[1]]


@pytest.fixture
def by_day(workspace: Workspace) -> Workspace:
    """The sample data, orders and order items exported on 2026-11-30, and on 2026-11-29 the
    first five orders (again: Listrak upserts them) with their items."""
    for path in (REPO / "data" / "inbox").iterdir():
        if path.stem in COMMERCE:
            dated = f"{path.stem}_2026-11-30{path.suffix}" if path.stem in DAILY else path.name
            shutil.copy(path, workspace.inbox / dated)
    orders = pl.read_csv(REPO / "data" / "inbox" / "orders.csv", infer_schema=False)
    first = orders.head(5)
    first.write_csv(workspace.inbox / "orders_2026-11-29.csv")
    items = pl.read_csv(REPO / "data" / "inbox" / "order_items.csv", infer_schema=False)
    items.filter(pl.col("OrderNumber").is_in(first["OrderNumber"].implode())).write_csv(
        workspace.inbox / "order_items_2026-11-29.csv"
    )
    return workspace


def _publish(
    workspace: Workspace, server: SftpServer, remote: str, day: str | None
) -> dg.ExecuteInProcessResult:
    """The four commerce tables and the order and order item files, for `day`."""
    workspace.settings(orders_by_day=True, sftp={"remote_folder": remote})
    defs = build_definitions(Channels(email=False, sms=False), by_day=True)
    keys = [k for t in COMMERCE for k in (raw_key(t), clean_key(t), rejects_key(t))]
    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=dg.AssetSelection.assets(*keys, *(file_key(t) for t in DAILY)),
        resources={**workspace.resources(), "sftp": server.resource()},
        instance=workspace.instance,
        partition_key=day,
        raise_on_error=False,
    )


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    return {
        e.check_name: {k: v.value for k, v in e.metadata.items()}
        for e in result.get_asset_check_evaluations()
    }


def test_the_orders_chain_is_kept_by_day_and_the_rest_whole() -> None:
    defs = build_definitions(Channels(email=False, sms=False), by_day=True)
    graph = defs.resolve_asset_graph()
    for table in DAILY:
        for key in (raw_key(table), clean_key(table), rejects_key(table), file_key(table)):
            assert graph.get(key).partitions_def == EXPORT_DAYS, key
    for key in (raw_key("customers"), clean_key("products"), file_key("customers")):
        assert graph.get(key).partitions_def is None, key
    whole = build_definitions(Channels(email=False, sms=False))
    assert whole.resolve_asset_graph().get(clean_key("orders")).partitions_def is None


def test_each_day_reads_its_files_and_writes_its_own_file(
    sandbox_server: SftpServer, by_day: Workspace
) -> None:
    remote, local = sandbox_server.folder("days")
    first = _publish(by_day, sandbox_server, remote, "2026-11-30")
    assert first.success, failure_messages(first)
    second = _publish(by_day, sandbox_server, remote, "2026-11-29")
    assert second.success, failure_messages(second)

    # A 2-day backfill wrote 2 files of each, named with their day, not the run's.
    assert sorted(p.name for p in local.iterdir()) == [
        "Listrak_OrderItem_Feed_20261129.csv",
        "Listrak_OrderItem_Feed_20261130.csv",
        "Listrak_Order_Feed_20261129.csv",
        "Listrak_Order_Feed_20261130.csv",
    ]
    raw = materialization(second, raw_key("orders"))
    assert [f["name"] for f in raw["files"]] == ["orders_2026-11-29.csv"]
    events = second.get_asset_materialization_events()
    days = {e.asset_key: e.partition for e in events}
    assert days[clean_key("orders")] == days[file_key("orders")] == "2026-11-29"
    assert days[clean_key("customers")] is None

    stored = by_day.warehouse / "clean" / "orders"
    assert sorted(p.name for p in stored.iterdir()) == ["2026-11-29.parquet", "2026-11-30.parquet"]
    day29 = pl.read_parquet(stored / "2026-11-29.parquet")
    day30 = pl.read_parquet(stored / "2026-11-30.parquet")
    # De-duplication is within a day: the five orders of the 29th are in both days.
    assert day29.height == 5
    assert set(day29["ordernumber"]) <= set(day30["ordernumber"])
    sent = pl.read_csv(local / "Listrak_Order_Feed_20261129.csv", infer_schema=False)
    assert sent.height == 5

    # The referential checks read every stored day, not only the run's.
    items = by_day.warehouse / "clean" / "order_items"
    all_items = sum(pl.read_parquet(p).height for p in items.iterdir())
    checks = _checks(second)
    assert checks["items_have_orders"]["rows"] == all_items
    assert all_items > pl.read_parquet(items / "2026-11-29.parquet").height
    assert checks["orders_have_customers"]["rows"] == day29.height + day30.height


def test_todays_run_reads_the_undated_files_and_a_run_without_a_day_fails(
    sandbox_server: SftpServer, by_day: Workspace
) -> None:
    (by_day.inbox / "orders_2026-11-30.csv").rename(by_day.inbox / "orders.csv")
    (by_day.inbox / "order_items_2026-11-30.csv").rename(by_day.inbox / "order_items.csv")
    remote, local = sandbox_server.folder("undated")
    today = dt.datetime.now(dt.UTC).date()
    result = _publish(by_day, sandbox_server, remote, today.isoformat())
    assert result.success, failure_messages(result)

    raw = materialization(result, raw_key("orders"))
    assert [f["name"] for f in raw["files"]] == ["orders.csv"]  # not the 29th's
    assert (by_day.warehouse / "clean" / "orders" / f"{today.isoformat()}.parquet").is_file()
    assert f"Listrak_Order_Feed_{today:%Y%m%d}.csv" in {p.name for p in local.iterdir()}

    undated = _publish(by_day, sandbox_server, remote, None)
    assert not undated.success
    assert any(
        "raw/orders is kept by day (orders_by_day): run it for a day" in m
        for m in failure_messages(undated)
    )


def test_the_sensor_requests_a_run_per_export_day(workspace: Workspace) -> None:
    defs = build_definitions(Channels(email=False, sms=False), by_day=True)
    workspace.settings(orders_by_day=True)
    settled = time.time() - 60
    for name, text in {
        "customers.csv": "email\na@example.com\n",
        "products.csv": "sku,title\ns1,Shirt\n",
        "orders_2026-11-29.csv": "ordernumber,email\n1,a@example.com\n",
        "orders_2026-11-30.csv": "ordernumber,email\n2,a@example.com\n",
        "order_items.csv": "ordernumber,sku\n2,s1\n",  # undated: today's
        "orders_2023-12-31.csv": "ordernumber,email\n3,a@example.com\n",  # before the first day
    }.items():
        os.utime(workspace.write(name, text), (settled, settled))
    context = dg.build_sensor_context(
        instance=workspace.instance,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=defs,
    )
    tick = inbox_sensor(context)
    assert isinstance(tick, dg.SensorResult)
    requests = {r.partition_key: r for r in tick.run_requests or []}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert sorted(requests) == sorted(["2026-11-29", "2026-11-30", today])
    assert requests["2026-11-29"].tags[TABLES_TAG] == "orders"
    assert requests["2026-11-30"].tags[TABLES_TAG] == "orders"
    # The tables kept whole go with the newest day's run.
    assert requests[today].tags[TABLES_TAG] == "order_items,customers,products"
    assert len({r.run_key for r in requests.values()}) == 3
    for request in requests.values():
        selected = set(request.asset_selection or [])
        # Dagster accepts each as a subset of the job the sensor targets.
        job = defs.resolve_job_def("refresh").get_subset(asset_selection=selected)
        assert job.asset_layer.selected_asset_keys == selected
    assert file_key("orders") in set(requests["2026-11-29"].asset_selection or [])
    assert file_key("customers") not in set(requests["2026-11-29"].asset_selection or [])


def test_the_nightly_run_is_the_partition_of_its_day(workspace: Workspace) -> None:
    nightly = NightlySchedule(enabled=True, time="23:30", timezone="America/New_York")
    defs = build_definitions(Channels(email=False, sms=False), nightly, by_day=True)
    schedule = defs.resolve_schedule_def(NAME)
    # 23:30 in New York on the 1st is 04:30 UTC on the 2nd: the run's day is the 2nd.
    at = dt.datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    with dg.build_schedule_context(
        instance=workspace.instance,
        scheduled_execution_time=at,
        repository_def=defs.get_repository_def(),
    ) as ctx:
        [request] = schedule.evaluate_tick(ctx).run_requests or []
    assert request.partition_key == "2026-12-02"
    assert schedule.job_name == "publish_all"


def test_a_day_run_again_with_its_files_unchanged_redoes_and_resends_nothing(
    sandbox_server: SftpServer, by_day: Workspace
) -> None:
    remote, _ = sandbox_server.folder("again")
    for day in ("2026-11-30", "2026-11-29"):
        assert _publish(by_day, sandbox_server, remote, day).success
    # The last materialization of each table is the 29th's: the 30th compares with its own.
    again = _publish(by_day, sandbox_server, remote, "2026-11-30")
    assert again.success, failure_messages(again)
    for table in DAILY:
        for key in (raw_key(table), clean_key(table), file_key(table)):
            assert "unchanged, 0 sent" in str(materialization(again, key)[UNCHANGED]), key
        assert materialization(again, file_key(table))[SENT_FILES] == 0


def test_a_day_another_instance_built_is_kept_from_its_stored_file(
    sandbox_server: SftpServer, by_day: Workspace
) -> None:
    """Each day's file records what it was built from: a second instance (its own event log)
    running the 30th keeps that day's tables, not the 29th's, and rewrites none."""
    remote, _ = sandbox_server.folder("shared")
    for day in ("2026-11-30", "2026-11-29"):
        assert _publish(by_day, sandbox_server, remote, day).success
    days = [
        by_day.warehouse.joinpath(*key(t).path, "2026-11-30.parquet")
        for t in DAILY
        for key in (raw_key, clean_key, rejects_key)
    ]
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in days}
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as other:
        again = _publish(Workspace(by_day.root, other), sandbox_server, remote, "2026-11-30")
    assert again.success, failure_messages(again)
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in days} == before
    for table in DAILY:
        for key in (raw_key(table), clean_key(table), rejects_key(table)):
            assert materialization(again, key)[UNCHANGED_FROM] == FROM_STORED_TABLE, key


def test_retention_masks_the_rejects_of_every_day(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    (clean / "orders_rejects").mkdir(parents=True)
    frame = pl.DataFrame(
        {
            "source_file": ["orders_2026-10-01.csv"],
            "source_row": [1],
            "column": ["email"],
            "value": ["ann@example.org"],
            "reason": ["invalid_email"],
            "message": ["m"],
            "stage": ["normalise"],
            "action": ["row_rejected"],
        },
        schema=REJECT_COLUMNS,
    )
    day = clean / "orders_rejects" / "2026-10-01.parquet"
    frame.write_parquet(day)
    frame.write_parquet(clean / "customers_rejects.parquet")
    # The input files are gone: their rejects are old, so masked.
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    masked = mask_old_rejects(clean, [tmp_path / "inbox"], 30, now)
    assert masked == {"customers_rejects": 1, "orders_rejects/2026-10-01": 1}
    assert pl.read_parquet(day)["value"].to_list() == ["a***"]


def test_refresh_builds_todays_day_from_the_undated_sample(
    workspace: Workspace, tmp_path: Path
) -> None:
    """`make demo`'s command with orders kept by day: the run names today, so the undated
    sample files are today's exports and the files are dated today."""
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    workspace.settings(orders_by_day=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "LISTRAK_CONFIG": str(workspace.config), "DAGSTER_HOME": str(home)}
    with run_sandbox_sftp(workspace.root / "sftp") as sftp, run_emulator() as listrak:
        done = subprocess.run(
            [sys.executable, "-m", "listrak_assets.refresh"],
            cwd=REPO, env={**env, **sftp.env(), **listrak.env()}, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    today = dt.datetime.now(dt.UTC).date()
    stored = workspace.warehouse / "clean" / "orders" / f"{today.isoformat()}.parquet"
    assert stored.is_file()
    row = next(line for line in done.stdout.splitlines() if line.startswith("orders "))
    assert row.endswith(str(stored))
    sent = {p.name for p in (workspace.root / "sftp").glob("Listrak_*.csv")}
    assert f"Listrak_Order_Feed_{today:%Y%m%d}.csv" in sent and len(sent) == 4
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.tags["dagster/partition"] == today.isoformat()


def test_a_day_without_its_export_uploads_nothing(
    sandbox_server: SftpServer, by_day: Workspace
) -> None:
    remote, local = sandbox_server.folder("missing")
    result = _publish(by_day, sandbox_server, remote, "2026-11-28")
    assert not result.success
    messages = failure_messages(result)
    assert any("no orders files of 2026-11-28" in m for m in messages), messages
    assert any("no order_items files of 2026-11-28" in m for m in messages), messages
    assert list(local.iterdir()) == []


def _sensor_tick(workspace: Workspace, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=workspace.instance,
        cursor=cursor,
        resources={"settings": ListrakSettings(path=str(workspace.config))},
        definitions=build_definitions(Channels(email=False, sms=False), by_day=True),
    )
    return inbox_sensor(context)


def _days_requested(tick: dg.SensorResult | dg.SkipReason) -> list[str | None]:
    requests = tick.run_requests or [] if isinstance(tick, dg.SensorResult) else []
    return sorted(str(r.partition_key) for r in requests)


def _land_orders(workspace: Workspace, name: str, number: int) -> None:
    """An orders export holding the sample's header and its `number`th order, settled."""
    lines = (REPO / "data" / "inbox" / "orders.csv").read_text(encoding="utf-8").splitlines(True)
    settled = time.time() - 60
    os.utime(workspace.write(name, lines[0] + lines[number]), (settled,) * 2)


def test_the_sensor_requests_an_unchanged_day_once(workspace: Workspace) -> None:
    workspace.settings(orders_by_day=True)
    _land_orders(workspace, "orders_2026-11-29.csv", 1)
    _land_orders(workspace, "orders_2026-11-30.csv", 2)
    first = _sensor_tick(workspace, None)
    assert _days_requested(first) == ["2026-11-29", "2026-11-30"]
    assert isinstance(first, dg.SensorResult)

    # The next tick sees the same files: no day is requested again.
    second = _sensor_tick(workspace, first.cursor)
    assert _days_requested(second) == []
    assert isinstance(second, dg.SensorResult)
    # A new export of the 29th: that day alone.
    _land_orders(workspace, "orders_2026-11-29.csv", 3)
    assert _days_requested(_sensor_tick(workspace, second.cursor)) == ["2026-11-29"]


def test_a_sensor_without_a_cursor_requests_no_day_already_built(workspace: Workspace) -> None:
    """A new instance or a reset sensor compares each day's files with what that day's
    partition last read: two days built are not news, the one that changed since is."""
    workspace.settings(orders_by_day=True)
    for day, number in (("2026-11-29", 1), ("2026-11-30", 2)):
        _land_orders(workspace, f"orders_{day}.csv", number)
    defs = build_definitions(Channels(email=False, sms=False), by_day=True)
    for day in ("2026-11-29", "2026-11-30"):
        built = dg.materialize(
            list(defs.assets or []),
            selection=dg.AssetSelection.assets(raw_key("orders")),
            resources=workspace.resources(),
            instance=workspace.instance,
            partition_key=day,
            raise_on_error=False,
        )
        assert built.success, failure_messages(built)

    assert _days_requested(_sensor_tick(workspace, None)) == []
    _land_orders(workspace, "orders_2026-11-30.csv", 4)
    assert _days_requested(_sensor_tick(workspace, None)) == ["2026-11-30"]


def test_a_file_dated_outside_the_days_kept_requests_no_run(workspace: Workspace) -> None:
    workspace.settings(orders_by_day=True)
    _land_orders(workspace, "orders_2023-12-31.csv", 1)
    tick = _sensor_tick(workspace, None)
    assert isinstance(tick, dg.SensorResult)
    assert not tick.run_requests
    assert tick.skip_reason is not None
    assert "orders_2023-12-31.csv" in str(tick.skip_reason.skip_message)
    # Seen: the next tick does not look at it again.
    assert "no new or changed file" in str(_sensor_tick(workspace, tick.cursor))
