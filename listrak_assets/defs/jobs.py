"""Jobs: `refresh` rebuilds everything (what `make demo` runs); `publish_email`, `publish_sms`
and `publish_files` each rebuild and send one channel, `publish_all` every channel switched
on (what the nightly schedule runs).

A table's chain is its raw asset and everything downstream of it (clean table, rejects,
sinks, and the checks on them): a job is the chains of its tables, so a job never sends a
channel it was not named for, and a multi-asset is always taken whole.

The erasure input (`forget*.csv`) is the exception: every clean table is built after the
suppression list, so "downstream" would be everything. Its chain stops at what erasure does:
the ledger, the Forget requests (which also rewrite the local copies) and retention. The
Forget requests run after every clean table but read the erasure table, so they belong to
the erasure chain only; retention runs with every table, and so does the erasure of
forgotten people found again in a table's new export (`erasure/reappearances`, downstream of
every table's rejects).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import dagster as dg

from listrak_assets.defs.keys import (
    FORGET_REQUESTS_KEY,
    RETENTION_KEY,
    SUPPRESSION_KEY,
    clean_key,
    raw_key,
    rejects_key,
)
from listrak_assets.schemas.forget import FORGET

if TYPE_CHECKING:  # the type of RepositoryDefinition.asset_graph, not exported by dagster
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

EMAIL_TABLES = ("email_audience",)
SMS_TABLES = ("sms_audience",)
FILE_TABLES = ("customers", "products", "orders", "order_items")

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Read the inbox and rebuild every table, its rejects and its checks.",
)


ERASURE_CHAIN = dg.AssetSelection.assets(
    raw_key(FORGET.name),
    clean_key(FORGET.name),
    rejects_key(FORGET.name),
    SUPPRESSION_KEY,
    FORGET_REQUESTS_KEY,
    RETENTION_KEY,
)


def chains(tables: Iterable[str]) -> dg.AssetSelection:
    """The raw assets of `tables` and everything downstream of them (for the erasure input,
    its own chain)."""
    tables = list(tables)
    data = [t for t in tables if t != FORGET.name]
    selection = dg.AssetSelection.assets(*(raw_key(t) for t in data)).downstream()
    if FORGET.name in tables:
        return selection | ERASURE_CHAIN
    return selection - dg.AssetSelection.assets(FORGET_REQUESTS_KEY)


def checks_of(
    selection: dg.AssetSelection,
    graph: AssetGraph,
    built: Callable[[dg.AssetKey], bool],
) -> set[dg.AssetCheckKey]:
    """The checks a run of `selection` must run: those on its assets, and those that read one
    of them beside an asset already `built` that they are on (`orders_have_customers` when
    only customers changed), so a changed table is checked against the tables that refer to
    it. A check on a table never built would only fail to load it."""
    assets = selection.resolve(graph)
    reading = {
        key
        for key in graph.asset_check_keys
        if key.asset_key not in assets
        and any(dep.asset_key in assets for dep in graph.get_check_spec(key).additional_deps)
        and built(key.asset_key)
    }
    return set(selection.resolve_checks(graph)) | reading


def publish_jobs(email: bool, sms: bool, files: bool) -> list[dg.UnresolvedAssetJobDefinition]:
    """The publishing jobs of the channels switched on; a channel that is off has no job,
    and `publish_all` is left out when every channel is."""
    channels = [
        ("publish_email", "the email audience", EMAIL_TABLES, email),
        ("publish_sms", "the SMS audience", SMS_TABLES, sms),
        ("publish_files", "the customer, product, order and order item files", FILE_TABLES, files),
    ]
    on = [c for c in channels if c[3]]
    jobs = [
        dg.define_asset_job(
            name,
            selection=chains(tables),
            description=f"Read the inbox and publish {what}: its raw and clean tables, checks "
            "and sink.",
        )
        for name, what, tables, _ in on
    ]
    if on:
        jobs.append(
            dg.define_asset_job(
                "publish_all",
                # Erasure requests go out with every nightly publish.
                selection=chains([*(t for *_, tables, _ in on for t in tables), FORGET.name]),
                description="Read the inbox and publish every channel switched on, and the "
                "erasure requests.",
            )
        )
    return jobs
