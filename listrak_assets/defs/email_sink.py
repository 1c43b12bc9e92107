"""The email audience sink: `clean/email_audience` mirrored into a Listrak email list.

Thin on purpose: the send itself is `listrak_assets.listrak.audience` and the sink's shape is
`audience_sink`; this module says what the email channel has of its own: its options, its
mirror state and its metadata.
"""

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import dagster as dg
import polars as pl

from listrak_assets.defs.audience_sink import (
    RECONCILE_TAG,
    AudienceChannel,
    Log,
    audience_sink,
    http_metadata,
    tag_is_set,
)
from listrak_assets.defs.local_copies import STATE_FOLDER
from listrak_assets.defs.metadata import dtype_schema
from listrak_assets.defs.pools import EMAIL_POOL
from listrak_assets.defs.removal_guard import removal_guard_check
from listrak_assets.defs.resources import ListrakEmailApi
from listrak_assets.listrak.audience import (
    REJECT_COLUMNS,
    EmailPlan,
    SendOptions,
    SendReport,
    plan_email_audience,
    send_email_plan,
)
from listrak_assets.listrak.email import EmailApi
from listrak_assets.listrak.guard import Removal
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.state import MemberState
from listrak_assets.settings import Settings

REJECT_DESCRIPTIONS = {
    "email": "the contact's address (masked when PII is restricted)",
    "email_sha256": "SHA-256 of the address (Listrak's universalEmailKey), to find the contact",
    "import_file": "the import file that carried the contact",
    "action": "on (member) or off (left the audience)",
    "result": "Listrak's per-contact import result, e.g. PreviouslyUnsubscribed",
}


def _state(conf: Settings) -> MemberState:
    return MemberState(conf.warehouse / STATE_FOLDER)


class EmailAudience(AudienceChannel[EmailApi, EmailPlan, SendReport]):
    channel = "email"
    audience = "email_audience"
    resource = "listrak_email"
    pool = EMAIL_POOL
    pii_column = "email"
    rejects_schema = dtype_schema(REJECT_COLUMNS, REJECT_DESCRIPTIONS)
    description = (
        "Send the members whose row changed (the whole audience every `email.full_send_days` "
        "and on reconciliation) with list imports and mirror the membership field."
    )
    sink_description = (
        "The email audience in a Listrak email list: every member has the membership field "
        "(`segment_name`, a CheckBox in `field_group`) on, everyone who left has it off, "
        "attributes go to profile fields. Nobody is unsubscribed."
    )
    rejects_description = (
        "Contacts of the last send that Listrak's import did not update, with its "
        "per-contact result."
    )

    def open(
        self, resource: ListrakEmailApi, conf: Settings, stats: Stats
    ) -> AbstractContextManager[EmailApi]:
        return resource.open(stats)

    def plan(
        self,
        api: EmailApi,
        audience: pl.DataFrame,
        conf: Settings,
        batch: str,
        log: Log,
        tags: Mapping[str, str],
    ) -> EmailPlan:
        options = SendOptions(
            list_name=conf.list_name,
            field_group=conf.field_group,
            segment_name=conf.segment_name,
            unmatched_columns=conf.unmatched_columns,
            chunk_rows=conf.email.chunk_rows,
            dry_run=conf.email.dry_run,
            poll_interval=conf.email.poll_interval_seconds,
            poll_timeout=conf.email.poll_timeout_seconds,
            batch=batch,
            reconcile=conf.email.reconcile or tag_is_set(tags, RECONCILE_TAG),
            full_send_days=conf.email.full_send_days,
        )
        return plan_email_audience(api, audience, options, _state(conf), log=log)

    def removal(self, plan: EmailPlan) -> Removal:
        # Previous members: whoever the mirror state says has the field `on` (none before
        # the first send, or when the membership field does not exist yet).
        membership = plan.membership
        previous = membership.kept + membership.leavers.len()
        return Removal(previous or None, membership.current.len(), membership.leavers.len())

    def send(
        self, api: EmailApi, plan: EmailPlan, conf: Settings, log: Log, warn: Log
    ) -> SendReport:
        return send_email_plan(api, plan, _state(conf), log=log, warn=warn)

    def outcome_failure(self, report: SendReport, conf: Settings) -> str | None:
        """Contacts Listrak's imports did not update, above the settings' limit. (A write
        that did not land never gets here: it fails the send, and a re-run sends it again.)"""
        limit = conf.email.max_rejected_contacts
        if limit is None or report.rejects.height <= limit:
            return None
        return (
            f"Listrak's imports did not update {report.rejects.height} contacts "
            f"(`email.max_rejected_contacts` is {limit}); see listrak/email_audience_rejects "
            "for each one's result"
        )

    def summary(self, report: SendReport, stats: Stats) -> str:
        if report.unchanged:
            return (
                f"email audience unchanged, 0 sent ({report.send_mode}); {stats.requests} requests"
            )
        verb = "would send" if report.dry_run else "sent"
        return (
            f"email audience {verb} ({report.send_mode}, {report.members_unchanged} members "
            f"unchanged): {report.added} added, {report.kept} kept, "
            f"{report.removed} removed; {len(report.imports)} import files, "
            f"{stats.requests} requests ({stats.retries} retries), "
            f"{report.rejects.height} contacts rejected"
        )

    def rejects_metadata(self, rejects: pl.DataFrame) -> dict[str, Any]:
        by_result = dict(rejects.group_by("result").len().sort("result").iter_rows())
        return {"rejects_by_result": dg.MetadataValue.json(by_result)}

    def sink_metadata(self, report: SendReport, stats: Stats, seconds: float) -> dict[str, Any]:
        return {
            "members_added": report.added,
            "members_kept": report.kept,
            "members_removed": report.removed,
            "previous_members": report.previous,
            "previous_source": report.previous_source,
            "send_mode": report.send_mode,
            "members_unchanged": report.members_unchanged,
            "outcome": (
                "unchanged, 0 sent"
                if report.unchanged
                else f"{'would send' if report.dry_run else 'sent'} {report.rows_sent} rows"
            ),
            "rows_sent": 0 if report.dry_run else report.rows_sent,
            "rows_to_send": report.rows_sent,
            "import_file_bytes": report.import_bytes,
            **http_metadata(stats),
            "bytes_sent": stats.bytes_sent,
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


EMAIL = EmailAudience()
SINK, REJECTS = EMAIL.sink, EMAIL.rejects
listrak_email_audience = audience_sink(EMAIL)
removal_guard = removal_guard_check(EMAIL)
