"""The manifest: how many rows of each kind of dirt a file really holds, so tests know exactly
what cleaning must reject, merge, fix and warn about."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from listrak_assets.generator.dirt import DST_GAP, DST_OVERLAP, DUPLICATE
from listrak_assets.generator.files import RawFile


def file_entry(file: RawFile, df: pl.DataFrame) -> dict[str, Any]:
    """Counts of each dirt kind actually written in one file."""
    plan = file.plan
    counts = dict(df["_dirt"].value_counts().iter_rows())
    reject = {k: counts.get(k, 0) for k in plan.reject if k not in plan.blanked}
    duplicates = counts.get(DUPLICATE, 0)
    return {
        "rows": df.height,
        "key": list(file.key),
        "reject_dirt": reject,
        "blanked_dirt": {k: counts.get(k, 0) for k in plan.blanked},
        "duplicates": duplicates,
        "cosmetic_dirt": {k: counts.get(k, 0) for k in plan.cosmetic},
        "referential": {k: counts.get(k, 0) for k in plan.referential},
        "clean_rows": df.height - sum(reject.values()) - duplicates,
        # `updated_at` written as a wall-clock time in a spring-forward gap or an autumn
        # overlap of the source time zone (none in UTC).
        "dst_edges": {
            "gap": int((df["_dst"] == DST_GAP).sum()),
            "overlap": int((df["_dst"] == DST_OVERLAP).sum()),
        },
        **_opt_outs(df, plan.reject),
    }


def _opt_outs(df: pl.DataFrame, reject: tuple[str, ...]) -> dict[str, int]:
    """For an audience with opt-outs: how many kept numbers must come out opted out, and
    how many of those only because an older row opted them out (opt-outs are sticky)."""
    if "_optedout" not in df.columns:
        return {}
    per_person = (
        df.filter(~pl.col("_dirt").is_in(reject))
        .sort("_updated")
        .group_by("_person")
        .agg(pl.col("_optedout").any().alias("any"), pl.col("_optedout").last().alias("newest"))
    )
    return {
        "opted_out": int(per_person["any"].sum()),
        "sticky_opt_outs": int((per_person["any"] & ~per_person["newest"]).sum()),
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Pretty JSON with non-ASCII kept as is, so a diff of the committed sample reads well."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
