"""Re-runs on the sample data, as `make demo` runs them (`python -m listrak_assets.refresh`, a
process per run, end to end), publishing to the emulator and the sandbox SFTP server, which
stay up across the runs: a first run, an unchanged re-run, then a run after a share of the
email audience left. What each run re-did and re-sent is counted on both sides: from the
servers (email import requests, files written to the SFTP root) and from the run's
materializations (executed, and recorded as unchanged where the code says so)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from bench.measure import REPO
from bench.tables import write_settings

EMAIL_FILE = "email_audience.csv"


def _outbox(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
    }


def _leave(inbox: Path, churn: float) -> int:
    """Every (1/churn)th row of the email audience leaves; returns how many rows left."""
    path = inbox / EMAIL_FILE
    frame = pl.read_csv(path, infer_schema=False)
    step = max(1, round(1 / churn))
    kept = frame.filter(pl.int_range(pl.len()) % step != 0)
    kept.write_csv(path)
    return frame.height - kept.height


def _unchanged(metadata: dict[str, Any]) -> bool:
    """Whether a materialization records that nothing was redone (`unchanged`, in any form
    the asset says it)."""
    for key, value in metadata.items():
        if "unchanged" in key.lower() and value not in (False, 0, None, ""):
            return True
        if isinstance(value, str) and value.lower().startswith("unchanged"):
            return True
    return False


def _materializations(home: Path) -> tuple[bool, dict[str, dict[str, Any]]]:
    """The newest run's success and each materialization's metadata, by asset key."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(limit=1)
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        out: dict[str, dict[str, Any]] = {}
        for record in records:
            event = record.event_log_entry.dagster_event
            mat = event.event_specific_data.materialization  # type: ignore[union-attr]
            out[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
        return run.status == dg.DagsterRunStatus.SUCCESS, out


def _count(
    success: bool, meta: dict[str, dict[str, Any]], emulator: Any, uploads: int, wall: float
) -> dict[str, Any]:
    unchanged = sorted(k for k, v in meta.items() if _unchanged(v))
    clean = [k for k in meta if k.startswith("clean/") and not k.endswith("_rejects")]
    email = next((v for k, v in meta.items() if k.startswith("listrak/email")), {})
    imports = [
        r for r in emulator.requests if r.api == "email" and r.is_write and "Import" in r.path
    ]
    return {
        "success": success,
        "seconds": wall,
        "materializations": len(meta),
        "recorded_unchanged": len(unchanged),
        "clean_recomputed": sum(k not in unchanged for k in clean),
        "email_import_requests": len(imports),
        "email_rows_sent": email.get("rows_sent", "n/a"),
        "email_members_added": email.get("members_added", "n/a"),
        "email_members_removed": email.get("members_removed", "n/a"),
        "sftp_files_written": uploads,
    }


def reruns(sample: str, work: str, churn: float) -> dict[str, Any]:
    """Three runs (first, unchanged, churn) against servers that outlive them."""
    from listrak_assets.sandbox.emulator import run_emulator
    from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
    from listrak_assets.settings import load_settings

    folder = Path(work)
    inbox = folder / "inbox"
    shutil.copytree(sample, inbox)
    config = write_settings(folder, inbox)
    settings = load_settings(config)
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    out: dict[str, Any] = {}
    with (
        run_emulator(
            lists=[settings.list_name],
            sender_code=settings.sms.sender_code,
            phone_lists=[settings.sms.phone_list],
            record_bodies=False,
        ) as emulator,
        run_sandbox_sftp(folder / "outbox") as server,
    ):
        env = {
            **os.environ,
            **emulator.env(),
            **server.env(),
            "LISTRAK_CONFIG": str(config),
            "DAGSTER_HOME": str(home),
        }
        for label in ("first", "unchanged", "churn"):
            if label == "churn":
                out["churn_rows_left"] = _leave(inbox, churn)
            emulator.clear_requests()
            before = _outbox(folder / "outbox")
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "listrak_assets.refresh"],
                env=env,
                cwd=folder,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - started
            after = _outbox(folder / "outbox")
            uploads = sum(before.get(p) != v for p, v in after.items())
            success, meta = _materializations(home)
            out[label] = _count(success and done.returncode == 0, meta, emulator, uploads, wall)
            if done.returncode != 0:
                out[label]["error"] = done.stderr[-2000:]
    return out
