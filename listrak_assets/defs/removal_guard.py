"""The removal guard as a blocking asset check on each clean audience.

The check runs after `clean/<audience>` and before its sink in the same run, so a refused
send stops the sink before it starts, and shows next to the audience in the UI. It plans the
send exactly as the sink would (read only) and judges it with the same guard the sink applies
again before its first write (so a sink started on its own is guarded too).
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from listrak_assets.defs.audience_sink import (
    AudienceChannel,
    GuardOutcome,
    guard_plan,
    require_audience,
)
from listrak_assets.defs.keys import DEFAULT_RESOURCE_KEYS, Prefix, ResourceKeys, clean_key
from listrak_assets.listrak.errors import ListrakConfigError, ListrakError
from listrak_assets.listrak.guard import OVERRIDE_TAG, Removal, judge
from listrak_assets.listrak.http import Stats
from listrak_assets.privacy import mask_text
from listrak_assets.required_input import InputMissing
from listrak_assets.settings import Settings, SettingsError

REMOVAL_GUARD = "removal_guard"


def _refused(description: str, **metadata: Any) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def _outcome_result(outcome: GuardOutcome, dry_run: bool) -> dg.AssetCheckResult:
    metadata = {**outcome.metadata(), "dry_run": dry_run}
    verdict = outcome.verdict
    if verdict.allowed:
        return dg.AssetCheckResult(passed=True, metadata=metadata)
    if outcome.overridden:
        return dg.AssetCheckResult(
            passed=True,
            description=f"lifted by the {outcome.overridden_by}: {verdict.message}",
            metadata=metadata,
        )
    if dry_run:
        # A dry run writes nothing: say what a real send would meet, without blocking it.
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"dry run; a real send would be refused: {verdict.message}",
            metadata=metadata,
        )
    return _refused(verdict.message, **metadata)


def _judge_without_api(
    channel: AudienceChannel[Any, Any, Any], audience: pl.DataFrame, conf: Settings, why: str
) -> dg.AssetCheckResult:
    """No credentials for the channel: an empty audience is still refused; anything else
    can't be measured against the last send here (the sink fails without them anyway)."""
    verdict = judge(channel.channel, Removal(None, audience.height, 0), channel.limits(conf))
    if not verdict.allowed:
        return _outcome_result(GuardOutcome(verdict), channel.dry_run(conf))
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"not compared with the last send: {why}",
    )


def evaluate(
    channel: AudienceChannel[Any, Any, Any],
    audience: pl.DataFrame,
    conf: Settings,
    resource: Any,
    tags: Mapping[str, str],
    batch: str,
    log: Any,
    inbox: bool = True,
) -> dg.AssetCheckResult:
    """Missing input (inbox mode only), then the plan the sink would make, judged."""
    try:
        if inbox:
            require_audience(channel, conf)
    except InputMissing as err:
        return _refused(str(err), input_missing=True)
    try:
        resource.credentials()
    except ListrakConfigError as err:
        return _judge_without_api(channel, audience, conf, str(err))
    stats = Stats()
    with channel.open(resource, conf, stats) as api:
        plan = channel.plan(api, audience, conf, batch, log, tags)
    result = _outcome_result(guard_plan(channel, plan, conf, tags), channel.dry_run(conf))
    return result


def removal_guard_check(
    channel: AudienceChannel[Any, Any, Any],
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    inbox: bool = True,
    prefix: Prefix = (),
) -> dg.AssetChecksDefinition:
    """The blocking check that stops `channel`'s sink from emptying or gutting its audience."""

    @dg.asset_check(
        asset=clean_key(channel.audience, prefix),
        name=REMOVAL_GUARD,
        blocking=True,
        required_resource_keys={keys.settings, keys.of(channel.resource)},
        description=(
            f"The {channel.channel} send this audience makes would not empty the audience, "
            f"shrink it by more than `{channel.channel}.guard.max_shrink_share` of the last "
            f"send, or remove more than `max_leaver_share` / `max_leavers`; its input files "
            f"are in the inbox. Lift it for one run with the run tag {OVERRIDE_TAG}=true."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext, audience: pl.DataFrame
    ) -> dg.AssetCheckResult:
        try:
            conf: Settings = getattr(context.resources, keys.settings).load()
            return evaluate(
                channel,
                audience,
                conf,
                getattr(context.resources, keys.of(channel.resource)),
                context.run.tags,
                context.run.run_id.split("-")[0],
                context.log.info,
                inbox,
            )
        except (ListrakError, SettingsError) as err:
            return _refused(mask_text(str(err)))

    return _check
