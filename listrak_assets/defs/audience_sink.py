"""One shape for both audience sinks (email and SMS): plan, guard, send, report, rejects.

A sink reads the settings and opens its API; plans the sync without writing; passes the plan
through the guard; sends it; then reports what it did as metadata and returns the contacts
Listrak refused, masked where PII is restricted. A failure on the way becomes a `dg.Failure`
whose message says what to do, masked, with the HTTP counts that say how far it got. A
channel (`email_sink`, `sms_sink`) supplies only what differs: its keys, descriptions, API,
the core calls behind plan and send, and its metadata.
"""

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import clean_key
from listrak_assets.defs.metadata import preview
from listrak_assets.listrak.errors import ListrakError
from listrak_assets.listrak.http import Stats
from listrak_assets.privacy import mask, mask_text
from listrak_assets.settings import Settings, SettingsError


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

    audience: ClassVar[str]  # the clean table it reads; names the assets too
    resource: ClassVar[str]  # the key of the channel's API resource
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
    def send(self, api: ApiT, plan: PlanT, conf: Settings, log: Log) -> ReportT:
        """Carry out the plan (a dry run only reports)."""

    @abstractmethod
    def sink_metadata(self, report: ReportT, stats: Stats, seconds: float) -> dict[str, Any]:
        """The sink's own metadata: what was sent (`http_metadata` adds the HTTP counts)."""

    @abstractmethod
    def summary(self, report: ReportT, stats: Stats) -> str:
        """The line logged at the end of a run."""

    def guard(self, plan: PlanT, conf: Settings) -> None:
        """Between plan and send: the place for checks that stop a send before its first
        write (a removal guard belongs here). No check is made yet."""

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
) -> Iterator[dg.Output[Any]]:
    """Plan, guard, send, report and return the rejects: the body of every audience sink."""
    stats = Stats()
    started = time.monotonic()
    log: Log = context.log.info
    try:
        conf: Settings = context.resources.settings.load()
        resource = getattr(context.resources, channel.resource)
        with channel.open(resource, conf, stats) as api:
            batch = context.run.run_id.split("-")[0]
            plan = channel.plan(api, audience, conf, batch, log, context.run.tags)
            channel.guard(plan, conf)
            report = channel.send(api, plan, conf, log)
    except (ListrakError, SettingsError) as err:
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


def audience_sink(channel: AudienceChannel[Any, Any, Any]) -> dg.AssetsDefinition:
    """The channel's multi-asset: the sink itself (nothing stored) and its rejects table."""

    @dg.multi_asset(
        name=channel.name,
        description=channel.description,
        ins={"audience": dg.AssetIn(key=clean_key(channel.audience))},
        outs={
            "sink": dg.AssetOut(
                key=channel.sink,
                group_name="listrak",
                kinds={"listrak"},
                dagster_type=dg.Nothing,
                description=channel.sink_description,
            ),
            "rejects": dg.AssetOut(
                key=channel.rejects,
                group_name="listrak",
                kinds={"polars", "parquet"},
                description=channel.rejects_description,
                metadata={"dagster/column_schema": channel.rejects_schema},
            ),
        },
        required_resource_keys={"settings", channel.resource},
    )
    def sink(context: dg.AssetExecutionContext, audience: pl.DataFrame) -> Iterator[dg.Output[Any]]:
        yield from run_sink(context, channel, audience)

    return sink
