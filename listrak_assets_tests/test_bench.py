"""The benchmark command end to end at a tiny size: it writes its Markdown and JSON reports
with a line for every target, judged where the chosen stages measured it. No timing is
asserted: the numbers of a tiny run on a shared machine mean nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.targets import MISS, NA, PASS, judge
from listrak_assets_tests.conftest import REPO

# What the stages run below measure: the floor against the pipeline, validation, the churn.
MEASURED = (
    "raw + clean + validate, six tables: at most 2x the floor",
    "no table above 2.5x the floor",
    "peak memory at most 1.3x the floor's",
    "validation: at most 1.2x the bare polars checks",
    "10% churn: email sink sends at most 1.1x the changed rows",
)


def test_bench_writes_every_target_as_pass_miss_or_na(tmp_path: Path) -> None:
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--customers",
        "2000",
        "--only",
        "clean,validation,email",
    ]
    command += ["--email-contacts", "500", "--results", str(results)]
    command += ["--work", str(tmp_path / "work")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    [md] = results.glob("*-2000.md")
    [js] = results.glob("*-2000.json")
    report = json.loads(js.read_text())
    targets = {t["target"]: t["status"] for t in report["targets"]}
    every = [v.target for v in judge({})]  # nothing measured: every target, each n/a
    assert list(targets) == every
    assert set(targets.values()) <= {PASS, MISS, NA}
    for target in every:
        expected = {PASS, MISS} if target in MEASURED else {NA}
        assert targets[target] in expected, target
        line = next(line for line in md.read_text().splitlines() if line.startswith(f"| {target} "))
        assert line.endswith(f"| {targets[target]} |"), line
    # The stages not asked for were not run; the ones asked for were, each in its process.
    assert "sftp" not in report and "reruns" not in report
    assert report["pipeline"]["success"] and report["pipeline"]["peak_rss"] > 0
    assert report["email"]["emulator_matches"]
    assert report["machine"]["cores"] >= 1 and report["git_rev"]
    # The printed report is the Markdown one.
    assert md.read_text().strip() in done.stdout
