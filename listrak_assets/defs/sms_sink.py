"""The SMS audience sink: `clean/sms_audience` mirrored into a Listrak SMS phone list.

Thin on purpose: the sync itself is `listrak_assets.listrak.sms_audience`; this asset reads
the settings, opens the SMS API, and turns the report into metadata and a rejects table.
"""

import time

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import clean_key
from listrak_assets.defs.metadata import dtype_schema, preview
from listrak_assets.defs.resources import ListrakSettings, ListrakSmsApi
from listrak_assets.listrak.errors import ListrakError
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.sms_audience import (
    REJECT_COLUMNS,
    SmsOptions,
    SmsReport,
    sync_sms_audience,
)
from listrak_assets.privacy import mask, mask_text
from listrak_assets.settings import SettingsError

SINK = dg.AssetKey(["listrak", "sms_audience"])
REJECTS = dg.AssetKey(["listrak", "sms_audience_rejects"])

REJECT_DESCRIPTIONS = {
    "phone": "the number (masked when PII is restricted)",
    "action": "subscribe, unsubscribe or update",
    "error": "Listrak's error code, or why no answer came",
}


def _metadata(report: SmsReport, stats: Stats, rows: int, seconds: float) -> dict[str, object]:
    return {
        "dagster/row_count": rows,
        "dry_run": report.dry_run,
        "subscribed": report.subscribed,
        "created": report.created,
        "updated": report.updated,
        "unsubscribed": report.unsubscribed,
        "kept": report.kept,
        "skipped": sum(report.skipped.values()),
        "skipped_reasons": dg.MetadataValue.json(dict(sorted(report.skipped.items()))),
        "rejected_numbers": report.rejects.height,
        "requests": stats.requests,
        "write_requests": stats.writes,
        "retries": stats.retries,
        "http": dg.MetadataValue.json(stats.as_dict()),
        "imports": dg.MetadataValue.json(report.imports),
        "duration_seconds": round(seconds, 3),
        "sender_code_id": report.sender_code_id,
        "phone_list_id": report.phone_list_id,
        "mapped_columns": dg.MetadataValue.json(report.mapped),
        "unmatched_columns": dg.MetadataValue.json(report.unmatched),
    }


@dg.multi_asset(
    name="listrak_sms_audience",
    ins={"audience": dg.AssetIn(key=clean_key("sms_audience"))},
    outs={
        "sink": dg.AssetOut(
            key=SINK,
            group_name="listrak",
            kinds={"listrak"},
            dagster_type=dg.Nothing,
            description="The SMS audience in a Listrak SMS phone list: new numbers created and "
            "subscribed, leavers unsubscribed from this list only, opted-out numbers never "
            "subscribed, attributes in the matching SMS profile fields.",
        ),
        "rejects": dg.AssetOut(
            key=REJECTS,
            group_name="listrak",
            kinds={"polars", "parquet"},
            description="Numbers of the last sync that Listrak refused, with its error code.",
            metadata={"dagster/column_schema": dtype_schema(REJECT_COLUMNS, REJECT_DESCRIPTIONS)},
        ),
    },
)
def listrak_sms_audience(
    context: dg.AssetExecutionContext,
    audience: pl.DataFrame,
    settings: ListrakSettings,
    listrak_sms: ListrakSmsApi,
):
    """Mirror the SMS audience into the phone list named in the settings."""
    stats = Stats()
    started = time.monotonic()
    try:
        conf = settings.load()
        options = SmsOptions(
            sender_code=conf.sms.sender_code,
            phone_list=conf.sms.phone_list,
            unmatched_columns=conf.unmatched_columns,
            dry_run=conf.sms.dry_run,
            concurrency=conf.sms.concurrency,
            poll_interval=conf.sms.poll_interval_seconds,
            poll_timeout=conf.sms.poll_timeout_seconds,
            batch=context.run.run_id.split("-")[0],
        )
        with listrak_sms.open(stats, concurrency=conf.sms.concurrency) as api:
            report = sync_sms_audience(api, audience, options, log=context.log.info)
    except (ListrakError, SettingsError) as err:
        raise dg.Failure(
            # A per-number call's path holds the phone number: never shown whole.
            description=mask_text(str(err)),
            metadata={"requests": stats.requests, "http": dg.MetadataValue.json(stats.as_dict())},
        ) from None
    seconds = time.monotonic() - started

    rejects = report.rejects
    if conf.restrict_pii:
        rejects = rejects.with_columns(mask(pl.col("phone")).alias("phone"))
    verb = "would sync" if report.dry_run else "synced"
    context.log.info(
        f"SMS audience {verb}: {report.subscribed} subscribed, {report.updated} updated, "
        f"{report.unsubscribed} unsubscribed, {sum(report.skipped.values())} skipped; "
        f"{stats.requests} requests ({stats.retries} retries), {rejects.height} rejected"
    )
    yield dg.Output(
        None, output_name="sink", metadata=_metadata(report, stats, audience.height, seconds)
    )
    yield dg.Output(
        rejects,
        output_name="rejects",
        metadata={
            "dagster/row_count": rejects.height,
            "preview": preview(rejects, [], False),  # already masked where PII is restricted
        },
    )
