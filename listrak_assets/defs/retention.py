"""Retention, applied after each run's cleaning: rejects' values masked once their input file
is older than `retention.rejects_raw_days`, archived input files deleted after
`retention.archive_days`."""

import datetime as dt

import dagster as dg

from listrak_assets.defs.keys import RETENTION_KEY, rejects_key
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.erasure.retention import delete_old_archive, mask_old_rejects


def build_retention_asset(tables: list[str]) -> dg.AssetsDefinition:
    """Retention over the rejects of `tables` (it runs after them) and the archive."""

    @dg.asset(
        key=RETENTION_KEY,
        group_name="erasure",
        deps=[rejects_key(t) for t in tables],
        description="Masks the values of rejects whose input file is older than "
        "retention.rejects_raw_days and deletes archived input files older than "
        "retention.archive_days.",
    )
    def erasure_retention(settings: ListrakSettings) -> dg.MaterializeResult:
        conf = settings.load()
        now = dt.datetime.now(dt.UTC)
        masked = mask_old_rejects(
            conf.warehouse / "clean",
            [conf.inbox, conf.archive],
            conf.retention.rejects_raw_days,
            now,
        )
        deleted = delete_old_archive(conf.archive, conf.retention.archive_days, now)
        return dg.MaterializeResult(
            metadata={
                "rejects_values_masked": sum(masked.values()),
                "masked_by_table": dg.MetadataValue.json(masked),
                "archive_files_deleted": len(deleted),
            }
        )

    return erasure_retention
