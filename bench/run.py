"""`python -m bench`: the whole benchmark in one run, judged against the performance targets.

    python -m bench                                   # 1M customers, every stage
    python -m bench --customers 50000 --only clean,sftp

Generates the scale set into a work folder (a temporary one unless `--work`), measures each
stage in a process of its own (wall time, peak RSS of its process tree), prints the report
with PASS / MISS / n/a per target, and writes it as Markdown and JSON to `bench/results/`.
Not a test: timings depend on the machine (and on what else it runs), ratios much less so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from bench.measure import REPO, run_stage
from bench.report import markdown
from bench.targets import judge

STAGES = ("clean", "validation", "email", "sms", "sftp", "reruns")


def _stages(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown stage {', '.join(unknown)}; stages: {STAGES}")
    return chosen


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000, help="scale (default 1,000,000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--only",
        type=_stages,
        default=list(STAGES),
        help=f"comma-separated stages (default all): {','.join(STAGES)}; validation needs clean",
    )
    p.add_argument("--email-contacts", type=int, help="default: as many as customers")
    p.add_argument("--sms-numbers", type=int, help="default: customers / 10")
    p.add_argument("--churn", type=float, default=0.1, help="share changed in re-sends (0.1)")
    p.add_argument("--sftp-mb", type=int, default=500, help="upload size (default 500 MB)")
    p.add_argument("--sftp-rounds", type=int, default=5)
    p.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    p.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    return p


def _machine() -> dict[str, Any]:
    import dagster
    import polars

    return {
        "cores": os.cpu_count(),
        "memory": psutil.virtual_memory().total,
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "polars": polars.__version__,
        "dagster": dagster.__version__,
    }


def _git_rev() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every chosen stage, each in a process of its own; the results by stage."""
    only = set(args.only) | ({"clean"} if "validation" in args.only else set())
    r: dict[str, Any] = {
        "customers": args.customers,
        "stages": sorted(only),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_rev": _git_rev(),
        "machine": _machine(),
    }

    def stage(name: str, **kwargs: Any) -> dict[str, Any] | None:
        """A failed stage is reported (its targets n/a) and the others still run."""
        print(f"-- {name}", flush=True)
        try:
            done = run_stage(name, kwargs, work)
        except subprocess.CalledProcessError as err:
            r.setdefault("failed_stages", []).append(name)
            print(f"-- {name} failed (exit {err.returncode}); its output is above", flush=True)
            return None
        return {**done.result, "wall": done.seconds, "peak_rss": done.peak_rss}

    inbox = work / "inbox"
    if "clean" in only:
        r["generate"] = stage(
            "generate", inbox=str(inbox), customers=args.customers, seed=args.seed
        )
        r["floor"] = stage("floor", inbox=str(inbox), out=str(work / "floor"))
        r["pipeline"] = stage("pipeline", inbox=str(inbox), work=_fresh(work / "project"))
    if "validation" in only:
        clean = work / "project" / "warehouse" / "clean" / "customers.parquet"
        r["validation"] = stage("validation", clean=str(clean), raw=str(inbox / "customers.csv"))
    if "email" in only:
        contacts = args.email_contacts or args.customers
        r["email"] = stage("email", contacts=contacts, churn=args.churn)
    if "sms" in only:
        numbers = args.sms_numbers or max(1, args.customers // 10)
        r["sms"] = stage("sms", numbers=numbers, churn=args.churn)
    if "sftp" in only:
        r["sftp"] = stage("sftp", size_mb=args.sftp_mb, rounds=args.sftp_rounds)
    if "reruns" in only:
        sample = REPO / "data" / "inbox"
        r["reruns"] = stage(
            "reruns", sample=str(sample), work=_fresh(work / "reruns"), churn=args.churn
        )
    return r


def _fresh(folder: Path) -> str:
    """A stage's own folder, emptied: with `--work` reused, a stage starts as in a new folder
    (a first run is a first run, and no table stored by the last benchmark is kept)."""
    shutil.rmtree(folder, ignore_errors=True)
    return str(folder)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="listrak-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = measure(args, work)
    verdicts = judge(results)
    results["targets"] = [asdict(v) for v in verdicts]
    report = markdown(results, verdicts)
    print("\n" + report)
    args.results.mkdir(parents=True, exist_ok=True)
    stem = f"{results['date'][:10]}-{args.customers}"
    (args.results / f"{stem}.md").write_text(report)
    (args.results / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.results / stem}.md and .json")
    return 0
