"""The pipeline on a team's instance: run storage in PostgreSQL (the shipped
`deploy/postgres/dagster.yaml`, against a throwaway server on 127.0.0.1) and steps in processes
of their own (`execution.executor: multiprocess`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from listrak_assets.defs.executor import executor_from_settings
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.settings import SettingsError, load_settings
from listrak_assets_tests.conftest import REPO
from listrak_assets_tests.postgres_server import Postgres, run_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with run_postgres() as server:
        yield server


def _settings(folder: Path, **overrides: object) -> Path:
    data = yaml.safe_load((REPO / "listrak.yaml").read_text())
    data.update(inbox="inbox", warehouse="warehouse", **overrides)
    path = folder / "listrak.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_executor_is_the_one_the_settings_name(tmp_path: Path) -> None:
    assert executor_from_settings(_settings(tmp_path)) is dg.in_process_executor
    multi = executor_from_settings(
        _settings(tmp_path, execution={"executor": "multiprocess", "max_concurrent": 3})
    )
    assert multi.name == "multiprocess"
    # The configured executor's config is what Dagster resolves for every run.
    resolved = multi.apply_config_mapping({})
    assert resolved.success
    assert resolved.value["config"]["max_concurrent"] == 3


def test_an_unknown_executor_is_refused_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="execution.executor"):
        load_settings(_settings(tmp_path, execution={"executor": "threads"}))
    with pytest.raises(SettingsError, match="execution.max_concurrent"):
        load_settings(_settings(tmp_path, execution={"max_concurrent": 0}))


# One table's chain from its inbox file to its SFTP file: every kind of step (raw, clean with its
# checks, sink) in a process of its own, few enough to keep the test short.
CHAIN = ("raw/products", "clean/products", "clean/products_rejects", "listrak/product_file")
# The orders chain, kept by day (`orders_by_day`), and the customers its check reads.
ORDERS = ("raw/orders", "clean/orders", "clean/orders_rejects", "listrak/order_file")
CUSTOMERS = ("raw/customers", "clean/customers", "clean/customers_rejects")
DAYS = ("2026-11-30", "2026-11-29")


def _by_day_inbox(inbox: Path) -> None:
    """The sample data, its orders exported on the 30th and the first five again on the 29th."""
    shutil.copytree(REPO / "data" / "inbox", inbox)
    (inbox / "orders.csv").rename(inbox / f"orders_{DAYS[0]}.csv")
    with (inbox / f"orders_{DAYS[0]}.csv").open(encoding="utf-8") as full:
        head = [next(full) for _ in range(6)]  # the header and five orders, one line each
    (inbox / f"orders_{DAYS[1]}.csv").write_text("".join(head), encoding="utf-8")


def _materialize(env: dict[str, str], select: tuple[str, ...], day: str) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "asset", "materialize", "-m", "listrak_assets.definitions",
         "--select", ",".join(select), "--partition", day],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def test_table_chains_and_two_days_of_orders_run_on_postgres_with_a_process_per_step(
    postgres: Postgres, tmp_path: Path
) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    _by_day_inbox(workspace / "inbox")
    config = _settings(
        workspace,
        orders_by_day=True,
        execution={"executor": "multiprocess", "max_concurrent": 2},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    env.update(postgres.env(), LISTRAK_CONFIG=str(config), DAGSTER_HOME=str(home))
    with run_sandbox_sftp(tmp_path / "sftp") as sftp:
        # A 2-day backfill, one run per day (Dagster refuses a range for a whole chain); the
        # tables kept whole go with the first day's run, as the inbox sensor sends them.
        _materialize({**env, **sftp.env()}, (*CHAIN, *CUSTOMERS, *ORDERS), DAYS[0])
        _materialize({**env, **sftp.env()}, ORDERS, DAYS[1])
    # Each day's order file, dated with its day, and the product file.
    delivered = sorted(p.name for p in (tmp_path / "sftp").glob("Listrak_*.csv"))
    assert [n for n in delivered if n.startswith("Listrak_Order_Feed_")] == [
        "Listrak_Order_Feed_20261129.csv",
        "Listrak_Order_Feed_20261130.csv",
    ]
    assert [n for n in delivered if n.startswith("Listrak_Product_Feed_")]
    assert len(delivered) == 3
    sent = (tmp_path / "sftp" / "Listrak_Order_Feed_20261129.csv").read_text(encoding="utf-8")
    assert len(sent.splitlines()) == 6  # the header and that day's five orders

    # The runs and their events are in PostgreSQL, not in files under DAGSTER_HOME.
    os.environ.update(postgres.env())
    try:
        instance = dg.DagsterInstance.from_config(str(home))
    finally:
        for name in postgres.env():
            os.environ.pop(name, None)
    with instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert not (home / "history").exists()
        runs = {run.tags.get("dagster/partition"): run for run in instance.get_runs()}
        assert sorted(runs) == sorted(DAYS)
        for day, keys in ((DAYS[0], (*CHAIN, *CUSTOMERS, *ORDERS)), (DAYS[1], ORDERS)):
            run = runs[day]
            assert run.status == dg.DagsterRunStatus.SUCCESS
            events = instance.all_logs(run.run_id)
            # Each step started in a process of its own.
            workers = [
                e for e in events if e.dagster_event_type == dg.DagsterEventType.STEP_WORKER_STARTED
            ]
            steps = [e for e in events if e.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS]
            assert len(workers) == len(steps) > 1
            materialized = {
                e.dagster_event.asset_key
                for e in events
                if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
                and e.dagster_event is not None
            }
            assert materialized >= {dg.AssetKey.from_user_string(key) for key in keys}
        # Each day's partition of the orders chain is recorded as materialized, and only those.
        for key in ORDERS:
            done = instance.get_materialized_partitions(dg.AssetKey.from_user_string(key))
            assert done == set(DAYS), key
        for key in (*CHAIN, *CUSTOMERS):
            record = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
            assert record is not None and record.run_id == runs[DAYS[0]].run_id, key
