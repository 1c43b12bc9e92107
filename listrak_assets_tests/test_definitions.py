"""The Definitions object as the CLI and the UI load it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from listrak_assets.definitions import defs
from listrak_assets.defs.keys import SUPPRESSION_KEY, clean_key, raw_key, rejects_key
from listrak_assets.sandbox.emulator import run_emulator
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.schemas import TABLES

REPO = Path(__file__).resolve().parents[1]


def test_defs_is_a_plain_definitions_object() -> None:
    assert type(defs) is dg.Definitions


def test_every_table_has_raw_clean_and_rejects_assets_wired_in_order() -> None:
    graph = defs.resolve_asset_graph()
    for table in TABLES:
        # Cleaning waits for the suppression list: a forgotten person is never cleaned in.
        upstream = {raw_key(table), SUPPRESSION_KEY}
        assert graph.get(raw_key(table)).parent_keys == set()
        assert graph.get(clean_key(table)).parent_keys == upstream
        assert graph.get(rejects_key(table)).parent_keys == upstream
    # The erasure input is cleaned without suppression: it feeds the suppression list.
    assert graph.get(clean_key("forget")).parent_keys == {raw_key("forget")}
    assert graph.get(SUPPRESSION_KEY).parent_keys == {clean_key("forget")}
    # The sinks (`listrak/...`) are checked by their own tests.
    tables = {k for k in graph.get_all_asset_keys() if k.path[0] != "listrak"}
    assert {k.to_user_string() for k in tables} == {
        f"{layer}/{t}{suffix}"
        for t in [*TABLES, "forget"]
        for layer, suffix in (("raw", ""), ("clean", ""), ("clean", "_rejects"))
    } | {"erasure/suppression", "erasure/retention", "erasure/reappearances"}


def test_checks_are_declared_with_their_blocking_flags() -> None:
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for table in TABLES:
        assert {
            (f"clean/{table}", n) for n in ("schema_valid", "conservation", "key_unique")
        } <= checks
    assert {
        ("clean/order_items", "items_have_orders"),
        ("clean/order_items", "items_have_products"),
        ("clean/orders", "orders_have_customers"),
    } <= checks
    clean = graph.get(clean_key("customers")).assets_def
    blocking = {s.name: s.blocking for s in clean.check_specs}
    assert blocking == {"schema_valid": True, "conservation": True, "key_unique": False}


def test_dagster_cli_validates_the_workspace(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LISTRAK_CONFIG": str(REPO / "listrak.yaml"),
        "DAGSTER_HOME": str(tmp_path),
    }
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All code locations passed validation" in done.stderr + done.stdout


def _materialize_cli(tmp_path: Path, selection: str, extra_env: dict[str, str]) -> str:
    workspace = tmp_path / "ws"
    shutil.copytree(REPO / "data" / "inbox", workspace / "inbox")
    config = yaml.safe_load((REPO / "listrak.yaml").read_text())
    config.update(inbox="inbox", warehouse="warehouse")
    (workspace / "listrak.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    env.update(LISTRAK_CONFIG=str(workspace / "listrak.yaml"), DAGSTER_HOME=str(tmp_path / "home"))
    env.update(extra_env)
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "asset", "materialize", "-m", "listrak_assets.definitions",
         "--select", selection],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return str(workspace)


def test_cli_materializes_every_table_without_an_account(tmp_path: Path) -> None:
    workspace = Path(_materialize_cli(tmp_path, "group:raw or group:clean", {}))
    for table in TABLES:
        assert (workspace / "warehouse" / "clean" / f"{table}.parquet").is_file()


def test_cli_materializes_everything_with_the_stand_ins(tmp_path: Path) -> None:
    with run_sandbox_sftp(tmp_path / "sftp") as sftp, run_emulator() as listrak:
        _materialize_cli(tmp_path, "*", {**sftp.env(), **listrak.env()})
        assert listrak.writes > 0
    assert len(list((tmp_path / "sftp").glob("Listrak_*.csv"))) == 4
