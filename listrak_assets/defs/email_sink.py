"""The email audience sink: `clean/email_audience` mirrored into a Listrak email list.

Thin on purpose: the send itself is `listrak_assets.listrak.audience`; this asset reads the
settings, opens the API, and turns the report into metadata and a rejects table.
"""

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import clean_key
from listrak_assets.defs.metadata import dtype_schema, preview
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSettings
from listrak_assets.listrak.audience import (
    REJECT_COLUMNS,
    SendOptions,
    SendReport,
    send_email_audience,
)
from listrak_assets.listrak.errors import ListrakError
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.state import MemberState
from listrak_assets.privacy import mask, mask_text
from listrak_assets.settings import SettingsError

SINK = dg.AssetKey(["listrak", "email_audience"])
REJECTS = dg.AssetKey(["listrak", "email_audience_rejects"])
STATE_FOLDER = "state"

REJECT_DESCRIPTIONS = {
    "email": "the contact's address (masked when PII is restricted)",
    "email_sha256": "SHA-256 of the address (Listrak's universalEmailKey), to find the contact",
    "import_file": "the import file that carried the contact",
    "action": "on (member) or off (left the audience)",
    "result": "Listrak's per-contact import result, e.g. PreviouslyUnsubscribed",
}


def _metadata(report: SendReport, stats: Stats, members: int) -> dict[str, object]:
    return {
        "dagster/row_count": members,
        "dry_run": report.dry_run,
        "members_added": report.added,
        "members_kept": report.kept,
        "members_removed": report.removed,
        "rows_sent": 0 if report.dry_run else report.rows_sent,
        "rows_to_send": report.rows_sent,
        "import_file_bytes": report.import_bytes,
        "requests": stats.requests,
        "write_requests": stats.writes,
        "retries": stats.retries,
        "bytes_sent": stats.bytes_sent,
        "http": dg.MetadataValue.json(stats.as_dict()),
        "imports": dg.MetadataValue.json([i.as_dict() for i in report.imports]),
        "import_summary": dg.MetadataValue.json(report.summary),
        "rejected_contacts": report.rejects.height,
        "list_id": report.list_id,
        "field_group_id": report.group_id if report.group_id is not None else -1,
        "membership_field_id": report.field_id if report.field_id is not None else -1,
        "created": dg.MetadataValue.json(
            {
                "field_group": report.group_created,
                "membership_field": report.field_created,
                "attribute_fields": report.fields_created,
            }
        ),
        "would_create": dg.MetadataValue.json(report.would_create),
        "mapped_columns": dg.MetadataValue.json(report.mapped),
        "unmatched_columns": dg.MetadataValue.json(report.unmatched),
        "values_cut_to_field_length": report.values_cut,
    }


@dg.multi_asset(
    name="listrak_email_audience",
    ins={"audience": dg.AssetIn(key=clean_key("email_audience"))},
    outs={
        "sink": dg.AssetOut(
            key=SINK,
            group_name="listrak",
            kinds={"listrak"},
            dagster_type=dg.Nothing,
            description="The email audience in a Listrak email list: every member has the "
            "membership field (`segment_name`, a CheckBox in `field_group`) on, everyone who "
            "left has it off, attributes go to profile fields. Nobody is unsubscribed.",
        ),
        "rejects": dg.AssetOut(
            key=REJECTS,
            group_name="listrak",
            kinds={"polars", "parquet"},
            description="Contacts of the last send that Listrak's import did not update, "
            "with its per-contact result.",
            metadata={"dagster/column_schema": dtype_schema(REJECT_COLUMNS, REJECT_DESCRIPTIONS)},
        ),
    },
)
def listrak_email_audience(
    context: dg.AssetExecutionContext,
    audience: pl.DataFrame,
    settings: ListrakSettings,
    listrak_email: ListrakEmailApi,
):
    """Send the whole audience with list imports and mirror the membership field."""
    stats = Stats()
    try:
        conf = settings.load()
        options = SendOptions(
            list_name=conf.list_name,
            field_group=conf.field_group,
            segment_name=conf.segment_name,
            unmatched_columns=conf.unmatched_columns,
            chunk_rows=conf.email.chunk_rows,
            dry_run=conf.email.dry_run,
            poll_interval=conf.email.poll_interval_seconds,
            poll_timeout=conf.email.poll_timeout_seconds,
            batch=context.run.run_id.split("-")[0],
        )
        state = MemberState(conf.warehouse / STATE_FOLDER)
        with listrak_email.open(stats) as api:
            report = send_email_audience(api, audience, options, state, log=context.log.info)
    except (ListrakError, SettingsError) as err:
        # The message says what to do; the HTTP counts say how far it got.
        raise dg.Failure(
            description=mask_text(str(err)),
            metadata={"requests": stats.requests, "http": dg.MetadataValue.json(stats.as_dict())},
        ) from None

    rejects = report.rejects
    if conf.restrict_pii:
        rejects = rejects.with_columns(mask(pl.col("email")).alias("email"))
    by_result = dict(rejects.group_by("result").len().sort("result").iter_rows())
    verb = "would send" if report.dry_run else "sent"
    context.log.info(
        f"email audience {verb}: {report.added} added, {report.kept} kept, "
        f"{report.removed} removed; {len(report.imports)} import files, "
        f"{stats.requests} requests ({stats.retries} retries), "
        f"{report.rejects.height} contacts rejected"
    )
    yield dg.Output(None, output_name="sink", metadata=_metadata(report, stats, audience.height))
    yield dg.Output(
        rejects,
        output_name="rejects",
        metadata={
            "dagster/row_count": rejects.height,
            "rejects_by_result": dg.MetadataValue.json(by_result),
            "preview": preview(rejects, [], False),  # already masked where PII is restricted
        },
    )
