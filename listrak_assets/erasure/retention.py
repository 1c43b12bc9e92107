"""Retention: how long local copies of personal data live.

A rejects line keeps the value as written for `rejects_raw_days` after its input file
arrived (the file's modification time; a file no longer in the inbox or the archive counts
as old), then the value is masked with the one masking function (`privacy.mask`). An input
file under the archive folder is deleted `archive_days` after it was last modified.

The archive may be a URL (`storage.py`): its files' ages are then what fsspec's `modified()`
reports (SFTP: the file's mtime; object storage: when the object was written).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from listrak_assets.privacy import mask
from listrak_assets.storage import (
    Location,
    files_under,
    modified,
    read_parquet,
    relative,
    write_parquet,
)
from listrak_assets.stored_tables import SUFFIX, stored_files

REJECTS = "_rejects"  # a rejects table's name ends so (`clean/orders_rejects`)


def arrivals(folders: list[Location]) -> dict[str, dt.datetime]:
    """The newest modification time of each input file name under the folders."""
    seen: dict[str, dt.datetime] = {}
    for folder in folders:
        for path in files_under(folder):
            if not path.name.startswith("."):
                when = modified(path)
                seen[path.name] = max(when, seen.get(path.name, when))
    return seen


def mask_old_rejects(
    clean_folder: Location, input_folders: list[Location], days: int, now: dt.datetime
) -> dict[str, int]:
    """Mask the values of rejects lines whose input file is older than `days`; the lines
    masked per rejects table (lines already masked count again only when not yet masked)."""
    cutoff = now - dt.timedelta(days=days)
    arrived = arrivals(input_folders)
    fresh = [name for name, when in arrived.items() if when > cutoff]
    masked: dict[str, int] = {}
    if not clean_folder.is_dir():
        return masked
    # A rejects table kept by day is a folder of days: `orders_rejects/2026-12-01.parquet`.
    tables = sorted(
        {
            entry.name.removesuffix(SUFFIX)
            for entry in clean_folder.iterdir()
            if entry.name.removesuffix(SUFFIX).endswith(REJECTS) and not entry.name.startswith(".")
        }
    )
    for path in sorted((p for t in tables for p in stored_files(clean_folder, [t])), key=str):
        frame = read_parquet(path)
        old = ~pl.col("source_file").is_in(pl.Series(fresh, dtype=pl.String).implode())
        target = pl.when(old).then(mask(pl.col("value"))).otherwise(pl.col("value"))
        changed = frame.select((target.fill_null("") != pl.col("value").fill_null("")).sum()).item()
        if changed:
            write_parquet(frame.with_columns(target.alias("value")), path)
            masked[relative(path, clean_folder).removesuffix(SUFFIX)] = int(changed)
    return masked


def delete_old_archive(archive: Location, days: int, now: dt.datetime) -> list[str]:
    """Delete the files under the archive last modified more than `days` ago (temporary
    files a failed move left behind included); their paths relative to it."""
    cutoff = now - dt.timedelta(days=days)
    deleted: list[str] = []
    for path in files_under(archive):
        if modified(path) <= cutoff:
            path.unlink()
            deleted.append(relative(path, archive))
    return deleted
