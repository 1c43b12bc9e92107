"""The scale set, the floor and the project's own raw + clean + validate run over it.

The floor is what plain polars needs to read every raw file as text and store it as Parquet;
the project's time is its Dagster run's own duration (interpreter start and definitions load
are measured apart), per table the sum of that table's steps."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from bench.measure import REPO
from listrak_assets.settings import CONFIG_ENV

# Dagster's console logger at warnings only: a line per event would be measured too.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

# The generator's file of each table.
FILES = {
    "customers": "customers.csv",
    "products": "products.parquet",
    "orders": "orders.csv",
    "order_items": "order_items.csv",
    "email_audience": "email_audience.csv",
    "sms_audience": "sms_audience.csv",
}


def generate_set(inbox: str, customers: int, seed: int) -> dict[str, Any]:
    """The generator's default mix at `customers`."""
    from listrak_assets.generator import generate

    started = time.perf_counter()
    manifest = generate(Path(inbox), customers=customers, seed=seed)
    return {
        "seconds": time.perf_counter() - started,
        "rows": {name: entry["rows"] for name, entry in manifest["files"].items()},
        "bytes": sum(p.stat().st_size for p in Path(inbox).iterdir()),
    }


def floor(inbox: str, out: str) -> dict[str, Any]:
    """polars `read_csv(infer_schema=False)` (Parquet: read, cast to text) of every raw file,
    then `write_parquet`, per table."""
    Path(out).mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for table, name in FILES.items():
        source = Path(inbox) / name
        started = time.perf_counter()
        if source.suffix == ".parquet":
            frame = pl.read_parquet(source).cast(pl.String)
        else:
            frame = pl.read_csv(source, infer_schema=False)
        frame.write_parquet(Path(out) / f"{table}.parquet")
        seconds[table] = time.perf_counter() - started
        rows[table] = frame.height
        del frame
    return {"seconds": seconds, "rows": rows, "total": sum(seconds.values())}


def write_settings(folder: Path, inbox: Path, **overrides: object) -> Path:
    """The repository's listrak.yaml with the inbox and warehouse moved into `folder`."""
    data = yaml.safe_load((REPO / "listrak.yaml").read_text())
    data.update(inbox=str(inbox), warehouse=str(folder / "warehouse"), **overrides)
    path = folder / "listrak.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


BENCH_JOB = "bench_raw_clean"


def bench_job(config: str) -> Any:
    """Raw, clean (with validation) and rejects of the six tables, plus the checks across
    tables, as a job of the project's own definitions. Rebuilt by name (`execute_job` takes a
    reconstructable job), so module-level."""
    import dagster as dg

    from listrak_assets.defs.destination import listrak_definitions
    from listrak_assets.defs.keys import clean_key, raw_key, rejects_key

    defs = listrak_definitions(settings=config)
    keys = [k for t in FILES for k in (raw_key(t), clean_key(t), rejects_key(t))]
    # The selected assets bring their checks: those across tables validate, while the sinks'
    # removal guards (checks on the clean audiences) belong to the sends.
    guards = [
        key for c in defs.asset_checks or [] for key in c.check_keys if "removal_guard" in key.name
    ]
    selection = dg.AssetSelection.assets(*keys) - dg.AssetSelection.checks(*guards)
    job = dg.define_asset_job(BENCH_JOB, selection=selection)
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def(BENCH_JOB)


def pipeline(inbox: str, work: str) -> dict[str, Any]:
    """One in-process Dagster run of `bench_job`, as a deployment runs it: through
    `execute_job` on a persistent instance. Not `materialize`: that keeps every step's output
    in memory for its result (raw, clean and rejects of all six tables by the last step),
    which a deployed run never does."""
    folder = Path(work)
    folder.mkdir(parents=True, exist_ok=True)
    config = write_settings(folder, Path(inbox))
    os.environ[CONFIG_ENV] = str(config)  # the settings resource reads this file, not ./
    started = time.perf_counter()
    import dagster as dg

    job = dg.build_reconstructable_job(
        "bench.tables", "bench_job", reconstructable_kwargs={"config": str(config)}
    )
    job.get_definition()  # loaded once here (cached), so the run's duration excludes it
    load = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="dagster-home-", dir=folder) as home:
        # The instance the repository ships (`dagster.yaml`), as `make demo` and a deployment
        # copied from it use: its event log differs from Dagster's default in cost and in
        # what it keeps alive.
        shutil.copy(REPO / "dagster.yaml", Path(home) / "dagster.yaml")
        with (
            dg.DagsterInstance.from_config(home) as instance,
            dg.execute_job(job, instance, run_config=QUIET, raise_on_error=False) as result,
        ):
            stats = instance.get_run_stats(result.run_id)
            steps, stored = step_seconds(instance, result.run_id)
            success = result.success
            materializations = len(result.get_asset_materialization_events())
    per_table = {
        t: sum(s for k, s in steps.items() if re.fullmatch(f"(raw|clean)_+{t}", k)) for t in FILES
    }
    return {
        "success": success,
        "definitions_load": load,
        "run": (stats.end_time or 0.0) - (stats.start_time or 0.0),
        "steps": steps,
        "per_table": per_table,
        "other_steps": sum(steps.values()) - sum(per_table.values()),
        # The raw and the clean steps' time, and the part of it spent storing their tables.
        "stored": {
            layer: {
                "steps": sum(steps[k] for k in keys),
                "writing": sum(stored[k] for k in keys),
            }
            for layer in ("raw", "clean")
            if (keys := [k for k in steps if re.fullmatch(f"{layer}_+({'|'.join(FILES)})", k)])
        },
        "materializations": materializations,
    }


def step_seconds(instance: Any, run_id: str) -> tuple[dict[str, float], dict[str, float]]:
    """Each step's duration, from its start and end events in the run's event log; and the
    part of it spent storing its outputs: from each output's STEP_OUTPUT event to its
    HANDLED_OUTPUT (the IO manager's write and the materialization it records)."""
    import dagster as dg

    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    yielded: dict[tuple[str, str], float] = {}
    stored: dict[str, float] = {}
    ended = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        step = entry.step_key
        if event is None or step is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif event.event_type in ended:
            ends[step] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_OUTPUT:
            yielded[step, event.step_output_data.output_name] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.HANDLED_OUTPUT:
            began = yielded.get((step, event.event_specific_data.output_name))
            if began is not None:
                stored[step] = stored.get(step, 0.0) + entry.timestamp - began
    durations = {k: ends[k] - starts[k] for k in starts if k in ends}
    return durations, {k: stored.get(k, 0.0) for k in durations}
