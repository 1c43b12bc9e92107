"""File sinks: the customer, product, order and order item files, written from the clean tables
and uploaded to Listrak's SFTP server, where its importer picks them up by name.

One asset per file, downstream of its clean table, so a failing blocking check on a table
stops its file in the same run. Each run writes the files dated with the day the run started
(UTC); with `orders_by_day` on, the order and order item files are dated with their
partition's day (`defs/days.py`), so a 30-day backfill writes 30 files of each. A re-run of
that day replaces them, and removes what an earlier run of the day left under another shape
(other parts, another compression, a marker no longer wanted). A table whose input files are
absent from the inbox fails its file sink (missing is not empty): nothing
is uploaded, and the file of the last run stays.

Nothing is sent twice: when the clean table and the destination are those of the last
upload, the sink returns at once ("unchanged"); when the files it writes hold the bytes
already delivered under those names that day, it does not connect.
"""

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from listrak_assets.defs.days import run_date, step_day
from listrak_assets.defs.keys import DEFAULT_RESOURCE_KEYS, Prefix, ResourceKeys, clean_key
from listrak_assets.defs.local_copies import STATE_FOLDER
from listrak_assets.defs.pools import SFTP_POOL
from listrak_assets.defs.resources import ListrakSftp
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.defs.unchanged import (
    SAME_INPUTS,
    UNCHANGED,
    Last,
    carried,
    fingerprint_metadata,
    fingerprint_of,
    forced,
    latest,
    stored_stat,
    unchanged_since,
)
from listrak_assets.deliveries import Deliveries
from listrak_assets.files import (
    DEFAULT_TEMPLATES,
    DONE_SUFFIX,
    FileOptions,
    render,
    variants,
    write_files,
)
from listrak_assets.fingerprints import content_hash
from listrak_assets.inbox.export_date import files_of_day
from listrak_assets.required_input import InputMissing, missing_message, require_input
from listrak_assets.schemas import TABLES
from listrak_assets.settings import SettingsError, SftpSink
from listrak_assets.sftp import SftpError, UploadResult

GROUP = "listrak"
# What the last upload delivered (destination, name, day, options, each file's SHA-256) and
# how many files a run sent: a run that would deliver the same bytes again sends nothing.
DELIVERED = "delivered"
SENT_FILES = "sent_files"
ALREADY_DELIVERED = "the same bytes under the same names were delivered today by run"
ALREADY_ELSEWHERE = (
    "the same bytes under the same names were delivered today, as the warehouse's delivery "
    "record says (a run of another instance sharing it)"
)
# Table -> asset name under `listrak/`.
FILE_ASSETS: dict[str, str] = {
    "customers": "customer_file",
    "products": "product_file",
    "orders": "order_file",
    "order_items": "order_item_file",
}


def file_key(table: str, prefix: Prefix = ()) -> dg.AssetKey:
    return dg.AssetKey([*prefix, GROUP, FILE_ASSETS[table]])


def _metadata(
    rows: int, uploads: list[UploadResult], file_rows: list[int], removed: list[str], took: float
) -> dict[str, Any]:
    size = sum(u.size for u in uploads)
    upload_seconds = sum(u.seconds for u in uploads)
    return {
        "dagster/row_count": rows,
        "remote_path": dg.MetadataValue.path(uploads[0].remote_path),
        "files": dg.MetadataValue.json(
            [
                {"path": u.remote_path, "rows": n, "bytes": u.size, "attempts": u.attempts}
                for u, n in zip(uploads, file_rows, strict=True)
            ]
        ),
        "rows": rows,
        "bytes": size,
        "duration_seconds": round(took, 3),
        "upload_seconds": round(upload_seconds, 3),
        "throughput_mb_per_s": round(size / upload_seconds / 1e6, 2) if upload_seconds else 0.0,
        "reconnections": sum(u.attempts - 1 for u in uploads),
        "removed_stale": dg.MetadataValue.json(removed),
    }


def missing_remedy(table: str) -> str:
    """What to do when a commerce table's input files are absent."""
    return (
        f"to upload a file with no rows on purpose, drop a header-only {table}.csv there; if "
        "this destination takes no files over SFTP, set `sftp.enabled: false` in listrak.yaml "
        "and reload the code location."
    )


def _target(sftp: ListrakSftp, options: SftpSink, name: str, day: dt.date) -> dict[str, object]:
    """Where and how a file is delivered: the account, the folder, its name, the day and the
    file options (a marker or compression changes what Listrak gets)."""
    return {
        # Not the port: a stand-in server listens on a new one each time it starts.
        "destination": f"{sftp.username}@{sftp.host}",
        "name": name,
        "day": day.isoformat(),
        "options": options.model_dump(mode="json"),
    }


def _file_inputs(
    context: dg.AssetExecutionContext, table: str, prefix: Prefix, target: dict[str, object]
) -> tuple[str | None, dict[str, object]]:
    """What a file sink's upload depends on: the stored clean table and where it goes. No
    fingerprint when the clean table is not a file this step can see."""
    clean = stored_stat(context, clean_key(table, prefix))
    if clean is None:
        return None, {}
    return fingerprint_of({"table": table, "clean": clean, **target})


def _require_day(inbox: Path, table: str, paths: list[Path], day: dt.date, run: dt.date) -> None:
    """InputMissing when none of the table's files is `day`'s export."""
    if not files_of_day(paths, table, day, run):
        raise InputMissing(
            missing_message(
                f"{table} files of {day} ({table}_{day}.csv, or an undated one on that day)",
                inbox,
                f"the {table} file of {day} is not uploaded",
                missing_remedy(table),
            )
        )


def _unchanged(
    context: dg.AssetExecutionContext,
    last: Last,
    key: str | None,
    parts: dict[str, object],
    why: str = SAME_INPUTS,
) -> dg.MaterializeResult:
    """Nothing uploaded: the last delivery stands, and the materialization says so."""
    metadata = carried(context, last, why)
    uri = last.value("dagster/uri")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            SENT_FILES: 0,
            **(fingerprint_metadata(key, parts) if key else {}),
            **({"dagster/uri": uri} if uri else {}),
        },
        data_version=dg.DataVersion(key) if key else None,
    )


def _delivered_elsewhere(
    key: str | None, parts: dict[str, object], delivery: dict[str, object], rows: int
) -> dg.MaterializeResult:
    """Nothing uploaded: the warehouse's delivery record says Listrak has these bytes already,
    from a run this instance has no record of (another machine's, sharing the warehouse)."""
    return dg.MaterializeResult(
        metadata={
            UNCHANGED: dg.MetadataValue.text(f"unchanged, 0 sent: {ALREADY_ELSEWHERE}"),
            "dagster/row_count": rows,
            SENT_FILES: 0,
            DELIVERED: dg.MetadataValue.json(delivery),
            **(fingerprint_metadata(key, parts) if key else {}),
        },
        data_version=dg.DataVersion(key) if key else None,
    )


def build_file_sink(
    table: str,
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    inbox: bool = True,
    prefix: Prefix = (),
    partitions: dg.PartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """The table's file sink; with `inbox` off the table comes from an upstream asset, so
    no input file is due. With `partitions` (days), each partition writes its day's file."""
    spec = TABLES[table]
    default_name = DEFAULT_TEMPLATES[table].format(date="YYYYMMDD")

    @dg.asset(
        key=file_key(table, prefix),
        group_name=GROUP,
        pool=SFTP_POOL,  # one publisher at a time (defs/pools.py)
        partitions_def=partitions,
        ins={"clean": dg.AssetIn(key=clean_key(table, prefix))},
        required_resource_keys={keys.settings, keys.sftp},
        kinds={"sftp", "csv"},
        description=f"Listrak's {table.replace('_', ' ')} file (`{default_name}` by default), "
        f"written from clean/{table} and uploaded over SFTP under a temporary name, then "
        "renamed into place.",
    )
    def _file(context: dg.AssetExecutionContext, clean: pl.LazyFrame) -> dg.MaterializeResult:
        settings: ListrakSettings = getattr(context.resources, keys.settings)
        sftp: ListrakSftp = getattr(context.resources, keys.sftp)
        started = time.perf_counter()
        try:
            conf = settings.load()
            day = step_day(context)
            if inbox:
                # Before connecting: an absent export never replaces yesterday's file.
                paths = require_input(
                    conf.inbox,
                    table,
                    f"the {table} file is not uploaded",
                    missing_remedy(table),
                    archive=conf.archive if conf.inbox_archive else None,
                )
                if partitions is not None and not conf.inbox_archive:
                    # Kept by day: another day's export says nothing about this day's.
                    _require_day(conf.inbox, table, paths, day, run_date(context))
            options = conf.sftp
            name = render(getattr(options.file_names, table), day)
            folder = options.remote_folder
            target = _target(sftp, options, name, day)
            key, parts = _file_inputs(context, table, prefix, target)
            same = unchanged_since(context, [file_key(table, prefix)], key) if key else None
            if same:
                return _unchanged(context, same[0], key, parts)
            rows = clean.collect()  # read only now: an unchanged file never reads it
            with tempfile.TemporaryDirectory(prefix="listrak-files-") as local:
                files = write_files(
                    rows,
                    spec,
                    name,
                    Path(local),
                    FileOptions(options.compression, options.split_rows, options.formula_guard),
                )
                delivery = {
                    **target,
                    "content_sha256": {f.name: content_hash(f.path) for f in files},
                }
                last = latest(context, file_key(table, prefix))
                if last is not None and not forced(context) and last.value(DELIVERED) == delivery:
                    # Listrak already has these bytes under these names today: don't resend.
                    return _unchanged(context, last, key, parts, ALREADY_DELIVERED)
                shared = Deliveries(conf.warehouse / STATE_FOLDER)
                sink = (file_key(table, prefix).path, day.isoformat())
                if not forced(context) and shared.last(*sink) == delivery:
                    # ... by a run of another instance sharing the warehouse (deliveries.py).
                    return _delivered_elsewhere(key, parts, delivery, rows.height)
                from listrak_assets.sftp.publish import publish  # noqa: PLC0415  # paramiko, when sending

                with sftp.uploader(
                    options.host_key_fingerprint, log=context.log.warning
                ) as uploader:
                    uploader.check_folder(folder)  # connects: a bad host key or login fails here
                    published = publish(
                        uploader,
                        folder,
                        [(f.path, f.name) for f in files],
                        variants(name),
                        marker_suffix=DONE_SUFFIX,
                        markers=options.done_marker,
                    )
                uploads, removed = published.uploads, published.removed
                shared.record(*sink, delivery)
        except (SftpError, SettingsError, InputMissing) as err:
            # The message says what to do; a stack trace would add nothing.
            raise dg.Failure(description=str(err), allow_retries=False) from None
        if removed:
            context.log.info(f"removed files an earlier run of the day left: {removed}")
        return dg.MaterializeResult(
            metadata={
                **_metadata(
                    rows.height,
                    uploads,
                    [f.rows for f in files],
                    removed,
                    time.perf_counter() - started,
                ),
                SENT_FILES: len(uploads),
                DELIVERED: dg.MetadataValue.json(delivery),
                **(fingerprint_metadata(key, parts) if key else {}),
                # Where Listrak reads the (first) file: Dagster's documented address key.
                "dagster/uri": f"sftp://{sftp.host}:{sftp.port}{uploads[0].remote_path}",
            },
            data_version=dg.DataVersion(key) if key else None,
        )

    return _file


FILE_SINKS = [build_file_sink(table) for table in FILE_ASSETS]
