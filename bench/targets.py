"""The targets of the performance issue, each judged PASS or MISS from one run's numbers, or
n/a when the run did not measure it (a stage left out, or a size that can't tell)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PASS, MISS, NA = "PASS", "MISS", "n/a"
TEN_MILLION = 10_000_000


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    status: str


def _ratio(value: float, limit: float, higher_is_better: bool = False) -> str:
    ok = value >= limit if higher_is_better else value <= limit
    return PASS if ok else MISS


def _tables(r: dict[str, Any]) -> list[Verdict]:
    floor, run = r.get("floor"), r.get("pipeline")
    if not floor or not run:
        return [
            Verdict("raw + clean + validate, six tables: at most 2x the floor", "", NA),
            Verdict("no table above 2.5x the floor", "", NA),
            Verdict("peak memory at most 1.3x the floor's", "", NA),
            Verdict("10M customers complete on this machine", "", NA),
        ]
    total = run["run"] / floor["total"]
    per = {t: run["per_table"][t] / floor["seconds"][t] for t in floor["seconds"]}
    worst = max(per, key=per.__getitem__)
    memory = run["peak_rss"] / floor["peak_rss"]
    customers = r["customers"]
    ten_m = (PASS if run["success"] else MISS) if customers >= TEN_MILLION else NA
    return [
        Verdict(
            "raw + clean + validate, six tables: at most 2x the floor",
            f"{total:.2f}x ({run['run']:.1f} s / {floor['total']:.1f} s)",
            _ratio(total, 2.0) if run["success"] else MISS,
        ),
        Verdict(
            "no table above 2.5x the floor", f"{worst} {per[worst]:.2f}x", _ratio(per[worst], 2.5)
        ),
        Verdict(
            "peak memory at most 1.3x the floor's",
            f"{memory:.2f}x ({run['peak_rss'] / 1e9:.2f} / {floor['peak_rss'] / 1e9:.2f} GB)",
            _ratio(memory, 1.3),
        ),
        Verdict(
            "10M customers complete on this machine",
            f"run at {customers:,}" + ("" if ten_m != NA else " (needs --customers 10000000)"),
            ten_m,
        ),
    ]


def _validation(r: dict[str, Any]) -> list[Verdict]:
    v = r.get("validation")
    name = "validation: at most 1.2x the bare polars checks"
    if not v:
        return [Verdict(name, "", NA)]
    ratio = v["ratio"]
    measured = (
        f"{ratio:.2f}x (median of {v['rounds']} paired rounds; medians {v['pandera']:.3f} s / "
        f"{v['bare_polars']:.3f} s)"
    )
    return [Verdict(name, measured, _ratio(ratio, 1.2))]


def _reruns(r: dict[str, Any]) -> list[Verdict]:
    u = (r.get("reruns") or {}).get("unchanged")
    what = "unchanged re-run: no import, no upload, no clean table recomputed"
    fast = "unchanged re-run under 15 s end to end (sample data)"
    if not u:
        return [Verdict(what, "", NA), Verdict(fast, "", NA)]
    quiet = u["email_import_requests"] == 0 and u["sftp_files_written"] == 0
    quiet = quiet and u["clean_recomputed"] == 0 and u["success"]
    measured = (
        f"{u['email_import_requests']} import requests, {u['sftp_files_written']} files "
        f"uploaded, {u['clean_recomputed']} clean tables recomputed"
    )
    return [
        Verdict(what, measured, PASS if quiet else MISS),
        Verdict(fast, f"{u['seconds']:.1f} s", _ratio(u["seconds"], 15.0)),
    ]


def _churn(r: dict[str, Any]) -> list[Verdict]:
    e = r.get("email")
    name = "10% churn: email sink sends at most 1.1x the changed rows"
    if not e:
        return [Verdict(name, "", NA)]
    sent, changed = e["churn"]["rows_sent"], e["changed_in_churn"]
    ratio = sent / max(changed, 1)
    return [
        Verdict(name, f"{ratio:.2f}x ({sent:,} rows for {changed:,} changed)", _ratio(ratio, 1.1))
    ]


def _sftp(r: dict[str, Any]) -> list[Verdict]:
    s = r.get("sftp")
    name = "SFTP: median of 5 alternating rounds at least 0.95x OpenSSH aes128-gcm"
    if not s:
        return [Verdict(name, "", NA)]
    measured = (
        f"{s['ratio']:.2f}x ({s['uploader_mb_s']:.0f} / {s['openssh_mb_s']:.0f} MB/s, "
        f"{s['rounds']} rounds)"
    )
    return [Verdict(name, measured, _ratio(s["ratio"], 0.95, higher_is_better=True))]


def _slowest(r: dict[str, Any]) -> list[Verdict]:
    run = r.get("pipeline")
    name = "closing note: the table, and the slowest stage named (and why)"
    if not run or not run["steps"]:
        return [Verdict(name, "", NA)]
    step = max(run["steps"], key=run["steps"].__getitem__)
    return [Verdict(name, f"slowest step: {step} {run['steps'][step]:.1f} s", NA)]


JUDGES: tuple[Callable[[dict[str, Any]], list[Verdict]], ...] = (
    _tables,
    _validation,
    _reruns,
    _churn,
    _sftp,
    _slowest,
)


def judge(results: dict[str, Any]) -> list[Verdict]:
    """Every target, in the issue's order (n/a where not measured)."""
    return [v for judge_ in JUDGES for v in judge_(results)]
