"""Retention on a fake clock: a reject's value is masked once its input file is older than
`rejects_raw_days`, an archived input file is deleted after `archive_days`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl

from listrak_assets.cleaning.table import REJECT_COLUMNS
from listrak_assets.erasure.retention import delete_old_archive, mask_old_rejects
from listrak_assets.settings import Settings

ARRIVED = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def _at(path: Path, when: dt.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def _rejects(clean: Path) -> Path:
    clean.mkdir(parents=True)
    frame = pl.DataFrame(
        {
            "source_file": ["old.csv", "new.csv", "gone.csv"],
            "source_row": [1, 1, 1],
            "column": ["email", "email", "birthday"],
            "value": ["ann@example.org", "bob@example.org", "1990-31-31"],
            "reason": ["invalid_email"] * 2 + ["invalid_date"],
            "message": ["m"] * 3,
            "stage": ["normalise"] * 3,
            "action": ["row_rejected"] * 3,
        },
        schema=REJECT_COLUMNS,
    )
    path = clean / "customers_rejects.parquet"
    frame.write_parquet(path)
    return path


def test_rejects_keep_raw_values_for_the_set_days_then_are_masked(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    (archive / "2026-10").mkdir(parents=True)
    old = archive / "2026-10" / "old.csv"  # archived: its rejects' age is its own
    new = inbox / "new.csv"
    old.write_text("x")
    new.write_text("x")
    _at(old, ARRIVED)
    _at(new, ARRIVED + dt.timedelta(days=20))
    path = _rejects(tmp_path / "clean")
    days = 30

    # Day 29 of old.csv: only the line whose file is nowhere any more is masked.
    masked = mask_old_rejects(path.parent, [inbox, archive], days, ARRIVED + dt.timedelta(days=29))
    assert masked == {"customers_rejects": 1}
    assert pl.read_parquet(path)["value"].to_list() == [
        "ann@example.org",
        "bob@example.org",
        "1***",
    ]
    # Day 31: old.csv's value too; new.csv (day 11) keeps its value.
    masked = mask_old_rejects(path.parent, [inbox, archive], days, ARRIVED + dt.timedelta(days=31))
    assert masked == {"customers_rejects": 1}
    assert pl.read_parquet(path)["value"].to_list() == ["a***", "bob@example.org", "1***"]
    # Masking again changes nothing.
    assert (
        mask_old_rejects(path.parent, [inbox, archive], days, ARRIVED + dt.timedelta(days=32)) == {}
    )
    # The rest of the table is untouched.
    assert pl.read_parquet(path).drop("value").equals(_fresh(tmp_path).drop("value"))


def _fresh(tmp_path: Path) -> pl.DataFrame:
    return pl.read_parquet(_rejects(tmp_path / "again" / "clean"))


def test_archived_files_are_deleted_after_the_set_days(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (archive / "2026-11-01").mkdir(parents=True)
    early = archive / "2026-11-01" / "customers.csv"
    late = archive / "orders.parquet"
    early.write_text("x")
    late.write_text("x")
    _at(early, ARRIVED)
    _at(late, ARRIVED + dt.timedelta(days=5))

    assert delete_old_archive(archive, 30, ARRIVED + dt.timedelta(days=29, hours=23)) == []
    assert delete_old_archive(archive, 30, ARRIVED + dt.timedelta(days=30)) == [
        "2026-11-01/customers.csv"
    ]
    assert not early.exists() and late.exists()
    assert delete_old_archive(archive, 30, ARRIVED + dt.timedelta(days=36)) == ["orders.parquet"]
    assert delete_old_archive(tmp_path / "no-archive", 30, ARRIVED) == []


def test_retention_defaults_to_thirty_days() -> None:
    retention = Settings().retention
    assert (retention.rejects_raw_days, retention.archive_days) == (30, 30)
