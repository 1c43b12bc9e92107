"""`python -m listrak_assets.refresh`, the README's main command after installation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from listrak_assets_tests.conftest import REPO, Workspace


def _refresh(workspace: Workspace, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LISTRAK_CONFIG": str(workspace.config), "DAGSTER_HOME": str(home)}
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


def test_exits_non_zero_when_the_run_fails(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write("customers.csv", "firstname\nAnn\n")
    done = _refresh(workspace, tmp_path)
    assert done.returncode == 1
    assert "The run failed" in done.stderr
    assert "required column 'email' is missing" in done.stdout + done.stderr
