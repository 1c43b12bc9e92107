"""The run's results as a Markdown report (also printed) and as JSON."""

from __future__ import annotations

from typing import Any

from bench.targets import Verdict


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def _stored(run: dict[str, Any]) -> str:
    """How much of the raw and clean steps went to storing their tables (results written
    before this was measured have none)."""
    stored = run.get("stored")
    if not stored:
        return ""
    parts = [
        f"{layer} steps {s['steps']:.2f} s, of which {s['writing']:.2f} s storing tables"
        for layer, s in stored.items()
    ]
    return f"Storing outputs (the Parquet write and its materialization): {'; '.join(parts)}. "


def markdown(r: dict[str, Any], verdicts: list[Verdict]) -> str:
    m = r["machine"]
    out = [
        f"# Benchmark, {r['customers']:,} customers",
        "",
        f"{r['date']}, git {r['git_rev']}, {m['cores']} cores, {_gb(m['memory'])} memory, "
        f"load average {m['load_average']} at the start; Python {m['python']}, "
        f"polars {m['polars']}, dagster {m['dagster']}.",
        "",
        "## Targets",
        "",
        *_table(["target", "measured", ""], [[v.target, v.measured, v.status] for v in verdicts]),
    ]
    if failed := r.get("failed_stages"):
        out += ["", f"Failed stages (their targets n/a): {', '.join(failed)}."]
    if r.get("generate"):
        g = r["generate"]
        out += [
            "",
            f"Scale set: {sum(g['rows'].values()):,} rows, {g['bytes'] / 1e6:,.0f} MB, generated "
            f"in {g['seconds']:.1f} s, generator peak RSS {_gb(g['peak_rss'])}.",
        ]
    floor, run = r.get("floor"), r.get("pipeline")
    if floor and run:
        rows = []
        for table, seconds in floor["seconds"].items():
            ours = run["per_table"][table]
            n = floor["rows"][table]
            rows.append(
                [
                    table,
                    f"{n:,}",
                    f"{seconds:.2f}",
                    f"{ours:.2f}",
                    f"{n / ours:,.0f}" if ours else "-",
                    f"{ours / seconds:.1f}x",
                ]
            )
        rows.append(
            [
                "**six tables**",
                f"{sum(floor['rows'].values()):,}",
                f"{floor['total']:.2f}",
                f"{run['run']:.2f} (run)",
                "",
                f"{run['run'] / floor['total']:.1f}x",
            ]
        )
        out += [
            "",
            "## Raw + clean + validate against the floor",
            "",
            *_table(["table", "rows", "floor s", "project s", "rows/s", "ratio"], rows),
            "",
            f"Project: the Dagster run's own duration; per table its raw and clean steps. "
            f"Steps outside the tables (checks across tables): {run['other_steps']:.2f} s. "
            f"{_stored(run)}"
            f"Definitions load (imports and build) {run['definitions_load']:.2f} s, process "
            f"wall time {run['wall']:.1f} s (interpreter start included). Peak RSS of the "
            f"process tree: floor {_gb(floor['peak_rss'])}, project {_gb(run['peak_rss'])}.",
            "",
            "Slowest steps: "
            + ", ".join(
                f"{k} {s:.2f} s" for k, s in sorted(run["steps"].items(), key=lambda kv: -kv[1])[:5]
            )
            + ".",
        ]
    if v := r.get("validation"):
        out += [
            "",
            "## Validation and the reference libraries",
            "",
            f"Clean customers ({v['rows']:,} rows), {v['rounds']} alternating rounds: Pandera "
            f"median {v['pandera']:.3f} s, the same checks as one polars select median "
            f"{v['bare_polars']:.3f} s; median of the per-round ratios {v['ratio']:.2f}x. "
            "Rounds (s): Pandera "
            + ", ".join(f"{s:.3f}" for s in v["pandera_rounds"])
            + "; polars "
            + ", ".join(f"{s:.3f}" for s in v["bare_polars_rounds"])
            + ".",
            f"Reference-library paths on the raw customers file: `phonenumbers` "
            f"{v['phonenumbers_seconds']:.2f} s ({v['phonenumbers_share']:.2%} of the distinct "
            f"phones), `email-validator` {v['email_validator_seconds']:.2f} s "
            f"({v['email_validator_share']:.2%} of the distinct emails).",
        ]
    for name, title, unit in (
        ("email", "Email sink", "contacts"),
        ("sms", "SMS sink", "numbers"),
    ):
        if s := r.get(name):
            rows = [
                [
                    label,
                    f"{s[label]['requests']:,}",
                    f"{s[label]['bytes_sent'] / 1e6:,.1f}",
                    f"{s[label]['seconds']:.1f}",
                    ", ".join(
                        f"{k} {v:,}" if isinstance(v, int | float) else f"{k} {v}"
                        for k, v in s[label].items()
                        if k not in ("requests", "bytes_sent", "seconds")
                    ),
                ]
                for label in ("first", "churn")
            ]
            out += [
                "",
                f"## {title}, {s[unit]:,} {unit}, against the emulator",
                "",
                *_table(["send", "requests", "MB sent", "s", "what"], rows),
                "",
                f"The emulator's final state matches the audience: {s['emulator_matches']}.",
            ]
    if s := r.get("sftp"):
        out += [
            "",
            f"## SFTP, {s['size_mb']} MB to a local OpenSSH sshd",
            "",
            f"Uploader ({s['uploader_cipher']}) {s['uploader_mb_s']:.0f} MB/s, OpenSSH `sftp -c "
            f"aes128-gcm@openssh.com` {s['openssh_mb_s']:.0f} MB/s (medians of {s['rounds']} "
            f"alternating rounds): {s['ratio']:.2f}x. Rounds (s): uploader "
            + ", ".join(f"{x:.2f}" for x in s["uploader_seconds"])
            + "; OpenSSH "
            + ", ".join(f"{x:.2f}" for x in s["openssh_seconds"])
            + ".",
        ]
    if x := r.get("reruns"):
        fields = [
            "success", "seconds", "materializations", "recorded_unchanged", "clean_recomputed",
            "email_import_requests", "email_rows_sent", "email_members_added",
            "email_members_removed", "sftp_files_written",
        ]  # fmt: skip
        rows = [
            [f, *(_cell(x[label].get(f)) for label in ("first", "unchanged", "churn"))]
            for f in fields
        ]
        out += [
            "",
            "## Re-runs on the sample data (`python -m listrak_assets.refresh`, end to end)",
            "",
            *_table(["", "first", "unchanged", f"churn ({x['churn_rows_left']} left)"], rows),
        ]
    return "\n".join(out) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return "n/a" if value is None else str(value)
