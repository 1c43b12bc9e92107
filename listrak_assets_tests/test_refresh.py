"""`python -m listrak_assets.refresh`, the README's main command after installation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from listrak_assets.sandbox.emulator import run_emulator
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.schemas import TABLES
from listrak_assets_tests.conftest import REPO, Workspace


def _refresh(workspace: Workspace, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LISTRAK_CONFIG": str(workspace.config), "DAGSTER_HOME": str(home)}
    # The file sinks send to a local SFTP server serving `<workspace>/sftp`, the email
    # audience to the Listrak emulator.
    with run_sandbox_sftp(workspace.root / "sftp") as sftp, run_emulator() as listrak:
        env = {**env, **sftp.env(), **listrak.env()}
        return subprocess.run(
            [sys.executable, "-m", "listrak_assets.refresh"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip


def test_builds_every_table_and_says_where(workspace: Workspace, tmp_path: Path) -> None:
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    manifest = json.loads((REPO / "data" / "sample_manifest.json").read_text())
    home = tmp_path / "dagster_home"
    home.mkdir()

    done = _refresh(workspace, home)
    assert done.returncode == 0, done.stderr[-3000:]
    clean = workspace.warehouse / "clean"
    for name, entry in manifest["files"].items():
        table = name.split(".")[0]
        row = next(line for line in done.stdout.splitlines() if line.startswith(table + " "))
        assert row.split()[1:3] == [str(entry["rows"]), str(entry["clean_rows"])]
        assert row.endswith(str(clean / f"{table}.parquet"))
        assert (clean / f"{table}.parquet").is_file()
    # The run is kept in DAGSTER_HOME, so the UI started with the same home shows it.
    assert any((home / "history").iterdir())
    # The four commerce files reached the SFTP server.
    assert len(list((workspace.root / "sftp").glob("Listrak_*.csv"))) == 4
    # The email audience reached Listrak: its mirror state is written only after that.
    members = workspace.warehouse / "state" / "email_audience_members.parquet"
    assert pl.read_parquet(members).height == manifest["files"]["email_audience.csv"]["clean_rows"]


def test_exits_non_zero_when_the_run_fails(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write("customers.csv", "firstname\nAnn\n")
    done = _refresh(workspace, tmp_path)
    assert done.returncode == 1
    assert "The run failed" in done.stderr
    assert "required column 'email' is missing" in done.stdout + done.stderr


def test_without_an_account_it_publishes_to_local_stand_ins(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.write("customers.csv", "email\na@example.com\n")
    workspace.write("email_audience.csv", "email\na@example.com\nb@example.com\n")
    # The other commerce files header-only: a missing export fails its file sink.
    for table in ("products", "orders", "order_items"):
        workspace.write(f"{table}.csv", ",".join(TABLES[table].column_names) + "\n")
    # No SMS file: a missing input is not an empty audience, so SMS is switched off.
    workspace.settings(sms={"enabled": False})
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    env.update(LISTRAK_CONFIG=str(workspace.config), DAGSTER_HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "listrak_assets.refresh"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Publishing to the Listrak emulator" in done.stdout
    assert "No Listrak account was configured" in done.stdout
    uploaded = list((workspace.root / "outbox" / "sftp").glob("Listrak_Customer_*.csv"))
    assert len(uploaded) == 1
    assert "a@example.com" in uploaded[0].read_text()
    members = pl.read_parquet(workspace.warehouse / "state" / "email_audience_members.parquet")
    assert members.height == 2


def _demo(workspace: Workspace, home: Path, **env_extra: str) -> subprocess.CompletedProcess[str]:
    """`make demo`'s command on the sample data and the shipped settings, with no Listrak
    account in the environment: it starts the stand-ins itself (unless `env_extra` points
    somewhere)."""
    shutil.copytree(REPO / "data" / "inbox", workspace.root / "data" / "inbox")
    shutil.copy(REPO / "listrak.yaml", workspace.config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTRAK_")}
    env.update(LISTRAK_CONFIG=str(workspace.config), DAGSTER_HOME=str(home), **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "listrak_assets.refresh"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_demo_fits_on_one_screen_and_names_its_event_log(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _demo(workspace, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) < 60, "\n".join(lines)
    assert "DEBUG" not in done.stdout + done.stderr
    # A progress line per stage, in the order the stages start.
    stages = [line for line in lines if line.endswith(" steps)")]
    assert [s.split(" (")[0] for s in stages][:2] == [
        "Reading the inbox",
        "Cleaning and validating",
    ]
    assert {"Publishing", "Checking references and removal guards"} <= {
        s.split(" (")[0] for s in stages
    }
    # The email audience's attributes reach Listrak's profile fields, created on the first send.
    attributes = next(line for line in lines if "attributes sent to profile fields: " in line)
    for column in ("firstname", "lastname", "loyalty_tier", "favorite_category"):
        assert column in attributes
    assert attributes.endswith("(4 created by this run)")
    # A check that did not pass says why, as the UI does.
    assert any(
        "items_have_products did not pass (WARN): " in line and "unknown SKU" in line
        for line in lines
    )
    # Every event went to the log file the output names.
    named = next(line for line in lines if line.startswith("Dagster's event log of this run: "))
    log_file = Path(named.split(": ", 1)[1])
    assert log_file.parent == workspace.root / "data" / "logs"
    events = log_file.read_text()
    assert "STEP_SUCCESS" in events and "RUN_SUCCESS" in events


def test_a_sink_failure_shows_only_its_paragraph(workspace: Workspace, tmp_path: Path) -> None:
    # An SFTP host without a user or password: the file sinks fail, everything else runs.
    done = _demo(workspace, tmp_path, LISTRAK_SFTP_HOST="127.0.0.1")
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "Traceback" not in output
    failures = [line for line in output.splitlines() if " failed: " in line]
    assert {line.split()[0] for line in failures} == {
        "listrak__customer_file", "listrak__product_file", "listrak__order_file",
        "listrak__order_item_file",
    }  # fmt: skip
    reason = failures[0].split(" failed: ", 1)[1]
    # What is missing, how to trust the host key, how to run without an account.
    assert reason.startswith("SFTP is not configured: set LISTRAK_SFTP_USERNAME")
    assert "sftp.host_key_fingerprint" in reason and "LISTRAK_SFTP_KNOWN_HOSTS" in reason
    assert "`make demo`" in reason
    assert len((done.stdout + done.stderr).splitlines()) < 60
