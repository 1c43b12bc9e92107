"""One shape for both audience sinks (email and SMS): plan, guard, send, report, rejects.

A sink reads the settings, refuses when its input files are absent, and opens its API; plans
the sync without writing; passes the plan through the removal guard (which a run tag can
lift for one run); sends it; then reports what it did as metadata and returns the contacts
Listrak refused, masked where PII is restricted. A failure on the way becomes a `dg.Failure`
whose message says what to do, masked, with the HTTP counts that say how far it got. A
channel (`email_sink`, `sms_sink`) supplies only what differs: its keys, descriptions, API,
the core calls behind plan and send, and its metadata.
"""

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import (
    DEFAULT_RESOURCE_KEYS,
    Prefix,
    ResourceKeys,
    clean_key,
    op_name,
    prefixed,
)
from listrak_assets.defs.metadata import preview
from listrak_assets.listrak.errors import ListrakError
from listrak_assets.listrak.guard import (
    OVERRIDE_TAG,
    Removal,
    RemovalRefused,
    Verdict,
    judge,
    missing_remedy,
    overridden_for,
)
from listrak_assets.listrak.http import Stats
from listrak_assets.privacy import mask, mask_text
from listrak_assets.required_input import InputMissing, require_input
from listrak_assets.settings import RemovalLimits, Settings, SettingsError


class SinkReport(Protocol):
    """What every channel's report has: whether it was a dry run, the rows Listrak refused."""

    @property
    def dry_run(self) -> bool: ...

    @property
    def rejects(self) -> pl.DataFrame: ...


ApiT = TypeVar("ApiT")
PlanT = TypeVar("PlanT")
ReportT = TypeVar("ReportT", bound=SinkReport)
Log = Callable[[str], None]

# Run tags that change how one run of a sink reads its mirror state.
RECONCILE_TAG = "listrak/reconcile"  # email: read the members from Listrak, not the state
FIRST_SEND_TAG = "listrak/sms_first_send"  # SMS: no record yet, and that is expected


def tag_is_set(tags: Mapping[str, str], name: str) -> bool:
    """A run tag given as true (`true`, `yes` or `1`)."""
    return str(tags.get(name, "")).strip().lower() in ("true", "yes", "1")


class AudienceChannel(ABC, Generic[ApiT, PlanT, ReportT]):
    """What one channel's sink has of its own; `AudienceSink` does the rest."""

    channel: ClassVar[str]  # its section of the settings: `email` or `sms`
    audience: ClassVar[str]  # the clean table it reads; names the assets too
    resource: ClassVar[str]  # the key of the channel's API resource
    pool: ClassVar[str]  # its concurrency pool: one publisher at a time (defs/pools.py)
    pii_column: ClassVar[str]  # the rejects column masked when PII is restricted
    rejects_schema: ClassVar[dg.TableSchema]
    description: ClassVar[str]
    sink_description: ClassVar[str]
    rejects_description: ClassVar[str]

    @property
    def name(self) -> str:
        """The multi-asset's (op's) name, e.g. `listrak_email_audience`."""
        return f"listrak_{self.audience}"

    @property
    def sink(self) -> dg.AssetKey:
        return dg.AssetKey(["listrak", self.audience])

    @property
    def rejects(self) -> dg.AssetKey:
        return dg.AssetKey(["listrak", f"{self.audience}_rejects"])

    @abstractmethod
    def open(self, resource: Any, conf: Settings, stats: Stats) -> AbstractContextManager[ApiT]:
        """An authenticated connection to the channel's API for this run."""

    @abstractmethod
    def plan(
        self,
        api: ApiT,
        audience: pl.DataFrame,
        conf: Settings,
        batch: str,
        log: Log,
        tags: Mapping[str, str],
    ) -> PlanT:
        """Read only: everything that can fail without writing, decided (`tags`: the run's)."""

    @abstractmethod
    def send(self, api: ApiT, plan: PlanT, conf: Settings, log: Log, warn: Log) -> ReportT:
        """Carry out the plan (a dry run only reports); `warn` reaches the run's log as a
        warning (an import status word nobody knows)."""

    @abstractmethod
    def sink_metadata(self, report: ReportT, stats: Stats, seconds: float) -> dict[str, Any]:
        """The sink's own metadata: what was sent (`http_metadata` adds the HTTP counts)."""

    @abstractmethod
    def summary(self, report: ReportT, stats: Stats) -> str:
        """The line logged at the end of a run."""

    @abstractmethod
    def removal(self, plan: PlanT) -> Removal:
        """What the plan would do to the audience, for the removal guard: the previous
        members as the channel's mirror knows them, the audience after, the leavers."""

    def limits(self, conf: Settings) -> RemovalLimits:
        limits: RemovalLimits = getattr(conf, self.channel).guard
        return limits

    def dry_run(self, conf: Settings) -> bool:
        return bool(getattr(conf, self.channel).dry_run)

    def outcome_failure(self, report: ReportT, conf: Settings) -> str | None:
        """Why a finished send still failed (writes that did not land above a limit), or
        None. Its metadata and rejects are recorded first."""
        return None

    def rejects_metadata(self, rejects: pl.DataFrame) -> dict[str, Any]:
        """Metadata of the rejects table beyond its row count and preview."""
        return {}


def http_metadata(stats: Stats) -> dict[str, Any]:
    """What a run asked of Listrak: requests, writes among them, retries, and all counts."""
    return {
        "requests": stats.requests,
        "write_requests": stats.writes,
        "retries": stats.retries,
        "http": dg.MetadataValue.json(stats.as_dict()),
    }


@dataclass(frozen=True)
class GuardOutcome:
    """The guard's verdict on one send, and what lifted a refusal (None: nothing did)."""

    verdict: Verdict
    overridden_by: str | None = None

    @property
    def overridden(self) -> bool:
        return self.overridden_by is not None

    @property
    def blocks(self) -> bool:
        return not self.verdict.allowed and not self.overridden

    def metadata(self) -> dict[str, Any]:
        return {
            "guard": dg.MetadataValue.json(
                {**self.verdict.removal.as_metadata(), "problems": list(self.verdict.problems)}
            ),
            "guard_overridden": self.overridden,
            **({"guard_overridden_by": self.overridden_by} if self.overridden_by else {}),
        }


def require_audience(channel: AudienceChannel[Any, Any, Any], conf: Settings) -> None:
    """Absent input files are an error for the sink: InputMissing, never an empty audience.
    While the inbox holds the current state, absent means not in the inbox; with
    `inbox_archive` on, in neither the inbox nor the archive (consumed once is unchanged)."""
    require_input(
        conf.inbox,
        channel.audience,
        f"the {channel.channel} audience is not sent",
        missing_remedy(channel.channel, channel.audience),
        archive=conf.archive if conf.inbox_archive else None,
    )


def guard_plan(
    channel: AudienceChannel[Any, Any, Any], plan: Any, conf: Settings, tags: Mapping[str, str]
) -> GuardOutcome:
    """Judge a plan; a refusal stands unless the run's tag lifts this channel's guard."""
    verdict = judge(channel.channel, channel.removal(plan), channel.limits(conf))
    value = tags.get(OVERRIDE_TAG)
    if not verdict.allowed and overridden_for(value, channel.channel):
        return GuardOutcome(verdict, f"run tag {OVERRIDE_TAG}={value}")
    return GuardOutcome(verdict)


def _failure(err: Exception, stats: Stats) -> dg.Failure:
    # The message says what to do (with any email or number in it masked); the HTTP counts
    # say how far it got.
    return dg.Failure(
        description=mask_text(str(err)),
        metadata={"requests": stats.requests, "http": dg.MetadataValue.json(stats.as_dict())},
    )


def _masked(rejects: pl.DataFrame, column: str, restrict_pii: bool) -> pl.DataFrame:
    if not restrict_pii:
        return rejects
    return rejects.with_columns(mask(pl.col(column)).alias(column))


def run_sink(
    context: dg.AssetExecutionContext,
    channel: AudienceChannel[Any, Any, Any],
    audience: pl.DataFrame,
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    inbox: bool = True,
) -> Iterator[dg.Output[Any]]:
    """Plan, guard, send, report and return the rejects: the body of every audience sink.
    With `inbox` off the audience comes from an upstream asset, so no input file is due."""
    stats = Stats()
    started = time.monotonic()
    log: Log = context.log.info
    try:
        conf: Settings = getattr(context.resources, keys.settings).load()
        if inbox:
            require_audience(channel, conf)
        resource = getattr(context.resources, keys.of(channel.resource))
        with channel.open(resource, conf, stats) as api:
            batch = context.run.run_id.split("-")[0]
            plan = channel.plan(api, audience, conf, batch, log, context.run.tags)
            guard = guard_plan(channel, plan, conf, context.run.tags)
            if guard.blocks and not channel.dry_run(conf):
                raise RemovalRefused(guard.verdict.message)
            if guard.overridden:
                context.log.warning(
                    f"removal guard lifted by the {guard.overridden_by}: {guard.verdict.message}"
                )
            elif not guard.verdict.allowed:
                log(f"dry run; a real send would be refused: {guard.verdict.message}")
            report = channel.send(api, plan, conf, log, context.log.warning)
    except (ListrakError, SettingsError, InputMissing) as err:
        raise _failure(err, stats) from None
    seconds = time.monotonic() - started

    rejects = _masked(report.rejects, channel.pii_column, conf.restrict_pii)
    log(channel.summary(report, stats))
    yield dg.Output(
        None,
        output_name="sink",
        metadata={
            "dagster/row_count": audience.height,
            "dry_run": report.dry_run,
            **guard.metadata(),
            **channel.sink_metadata(report, stats, seconds),
        },
    )
    yield dg.Output(
        rejects,
        output_name="rejects",
        metadata={
            "dagster/row_count": rejects.height,
            **channel.rejects_metadata(rejects),
            "preview": preview(rejects, [], False),  # already masked where PII is restricted
        },
    )
    problem = None if report.dry_run else channel.outcome_failure(report, conf)
    if problem:
        raise dg.Failure(description=mask_text(problem), metadata=http_metadata(stats))


def audience_sink(
    channel: AudienceChannel[Any, Any, Any],
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    inbox: bool = True,
    prefix: Prefix = (),
) -> dg.AssetsDefinition:
    """The channel's multi-asset: the sink itself (nothing stored) and its rejects table."""

    @dg.multi_asset(
        name=op_name(channel.name, prefix),
        description=channel.description,
        pool=channel.pool,
        ins={"audience": dg.AssetIn(key=clean_key(channel.audience, prefix))},
        outs={
            "sink": dg.AssetOut(
                key=prefixed(channel.sink, prefix),
                group_name="listrak",
                kinds={"listrak"},
                dagster_type=dg.Nothing,
                description=channel.sink_description,
            ),
            "rejects": dg.AssetOut(
                key=prefixed(channel.rejects, prefix),
                io_manager_key=keys.io_manager,
                group_name="listrak",
                kinds={"polars", "parquet"},
                description=channel.rejects_description,
                metadata={"dagster/column_schema": channel.rejects_schema},
            ),
        },
        required_resource_keys={keys.settings, keys.of(channel.resource)},
    )
    def sink(context: dg.AssetExecutionContext, audience: pl.DataFrame) -> Iterator[dg.Output[Any]]:
        yield from run_sink(context, channel, audience, keys, inbox)

    return sink
