"""Run one measured stage in a Python process of its own, so that its wall time and the peak
memory of its process tree (it and every child it starts) belong to that stage alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Measured:
    """What a stage returned, its wall time (interpreter start included) and its peak RSS."""

    result: dict[str, Any]
    seconds: float
    peak_rss: int  # bytes, the largest sum over the process tree seen while it ran


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, now."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run_stage(
    stage: str, args: dict[str, Any], work: Path, env: dict[str, str] | None = None
) -> Measured:
    """`python -m bench.stages STAGE ARGS OUT` while sampling the tree's RSS every 50 ms."""
    out = work / f"stage-{stage}-{time.monotonic_ns()}.json"
    command = [sys.executable, "-m", "bench.stages", stage, json.dumps(args), str(out)]
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, env={**os.environ, **(env or {})})
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process))
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return Measured(json.loads(out.read_text()), seconds, peak)
