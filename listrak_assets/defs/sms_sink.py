"""The SMS audience sink: `clean/sms_audience` mirrored into a Listrak SMS phone list.

Thin on purpose: the sync itself is `listrak_assets.listrak.sms_audience` and the sink's shape
is `audience_sink`; this module says what the SMS channel has of its own: its options, its
connection pool and its metadata.
"""

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import dagster as dg
import polars as pl

from listrak_assets.defs.audience_sink import (
    FIRST_SEND_TAG,
    AudienceChannel,
    Log,
    audience_sink,
    http_metadata,
    tag_is_set,
)
from listrak_assets.defs.local_copies import STATE_FOLDER
from listrak_assets.defs.metadata import dtype_schema
from listrak_assets.defs.pools import SMS_POOL
from listrak_assets.defs.removal_guard import removal_guard_check
from listrak_assets.defs.resources import ListrakSmsApi
from listrak_assets.listrak.guard import Removal
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.listrak.sms_audience import (
    REJECT_COLUMNS,
    SmsOptions,
    SmsPlan,
    SmsReport,
    plan_sms_audience,
    send_sms_plan,
)
from listrak_assets.listrak.state import PhoneState
from listrak_assets.settings import Settings

REJECT_DESCRIPTIONS = {
    "phone": "the number (masked when PII is restricted)",
    "action": "subscribe, unsubscribe or update",
    "error": "Listrak's error code, or why no answer came",
}


class SmsAudience(AudienceChannel[SmsApi, SmsPlan, SmsReport]):
    channel = "sms"
    audience = "sms_audience"
    resource = "listrak_sms"
    pool = SMS_POOL
    pii_column = "phone"
    rejects_schema = dtype_schema(REJECT_COLUMNS, REJECT_DESCRIPTIONS)
    description = "Mirror the SMS audience into the phone list named in the settings."
    sink_description = (
        "The SMS audience in a Listrak SMS phone list: new numbers created and subscribed, "
        "leavers unsubscribed from this list only, opted-out numbers never subscribed, "
        "attributes in the matching SMS profile fields."
    )
    rejects_description = "Numbers of the last sync that Listrak refused, with its error code."

    def open(
        self, resource: ListrakSmsApi, conf: Settings, stats: Stats
    ) -> AbstractContextManager[SmsApi]:
        return resource.open(stats, concurrency=conf.sms.concurrency)

    def plan(
        self,
        api: SmsApi,
        audience: pl.DataFrame,
        conf: Settings,
        batch: str,
        log: Log,
        tags: Mapping[str, str],
    ) -> SmsPlan:
        options = SmsOptions(
            sender_code=conf.sms.sender_code,
            phone_list=conf.sms.phone_list,
            unmatched_columns=conf.unmatched_columns,
            dry_run=conf.sms.dry_run,
            concurrency=conf.sms.concurrency,
            poll_interval=conf.sms.poll_interval_seconds,
            poll_timeout=conf.sms.poll_timeout_seconds,
            batch=batch,
            mirror=conf.sms.mirror,
            first_send=tag_is_set(tags, FIRST_SEND_TAG),
            run=batch,
        )
        return plan_sms_audience(api, audience, options, _state(conf), log=log)

    def removal(self, plan: SmsPlan) -> Removal:
        # Previous members: the numbers this sync may remove, from the mirror state: those the
        # sink subscribed (`owned`), or every number on the phone list (`whole_list`). The
        # audience after is measured the same way: in `owned` mode the owned numbers that
        # stay plus the joiners (a number already on the list is never ours).
        if plan.options.mirror == "whole_list":
            after = len(plan.joiners) + plan.kept
        else:
            after = len((plan.owned & plan.staying) | {r.phone for r in plan.joiners})
        return Removal(plan.previous or None, after, len(plan.leavers))

    def send(self, api: SmsApi, plan: SmsPlan, conf: Settings, log: Log, warn: Log) -> SmsReport:
        return send_sms_plan(api, plan, _state(conf), log=log, warn=warn)

    def outcome_failure(self, report: SmsReport, conf: Settings) -> str | None:
        """Writes that did not land, or numbers Listrak refused, above the settings' limits."""
        problems = []
        if report.failed_writes > conf.sms.max_failed_writes:
            problems.append(
                f"{report.failed_writes} writes did not land (no answer, or a lost answer "
                f"looked up and found not applied; `sms.max_failed_writes` is "
                f"{conf.sms.max_failed_writes}). A re-run sends them again"
            )
        limit = conf.sms.max_rejected_numbers
        if limit is not None and report.refused > limit:
            problems.append(
                f"Listrak refused {report.refused} numbers (`sms.max_rejected_numbers` is "
                f"{limit}); see listrak/sms_audience_rejects for its error codes"
            )
        return "; ".join(problems) or None

    def summary(self, report: SmsReport, stats: Stats) -> str:
        verb = "would sync" if report.dry_run else "synced"
        return (
            f"SMS audience {verb}: {report.subscribed} subscribed, {report.updated} updated, "
            f"{report.unsubscribed} unsubscribed, {sum(report.skipped.values())} skipped; "
            f"{stats.requests} requests ({stats.retries} retries), "
            f"{report.rejects.height} rejected"
        )

    def sink_metadata(self, report: SmsReport, stats: Stats, seconds: float) -> dict[str, Any]:
        return {
            "subscribed": report.subscribed,
            "created": report.created,
            "updated": report.updated,
            "unsubscribed": report.unsubscribed,
            "kept": report.kept,
            "skipped": sum(report.skipped.values()),
            "skipped_reasons": dg.MetadataValue.json(dict(sorted(report.skipped.items()))),
            "rejected_numbers": report.rejects.height,
            "failed_writes": report.failed_writes,
            "refused_numbers": report.refused,
            "looked_up": report.looked_up,
            "mirror": "dry run" if report.dry_run else report.previous_source,
            "previous_members": report.previous,
            "owned_numbers": report.owned,
            "opt_outs_read": report.opt_outs_read,
            "opt_outs_known": report.opt_outs_known,
            "opt_outs_since": report.opt_outs_since or "all (first read)",
            **http_metadata(stats),
            "imports": dg.MetadataValue.json(report.imports),
            "duration_seconds": round(seconds, 3),
            "sender_code_id": report.sender_code_id,
            "phone_list_id": report.phone_list_id,
            "mapped_columns": dg.MetadataValue.json(report.mapped),
            "unmatched_columns": dg.MetadataValue.json(report.unmatched),
        }


def _state(conf: Settings) -> PhoneState:
    return PhoneState(conf.warehouse / STATE_FOLDER)


SMS = SmsAudience()
SINK, REJECTS = SMS.sink, SMS.rejects
listrak_sms_audience = audience_sink(SMS)
removal_guard = removal_guard_check(SMS)
