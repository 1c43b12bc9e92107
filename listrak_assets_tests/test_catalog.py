"""What the UI's catalog shows about every asset: owners, channel and PII tags, code version,
the warehouse table, freshness policies, and the destination's name and description."""

from __future__ import annotations

import datetime as dt
import os
from importlib.metadata import version
from pathlib import Path

import dagster as dg

from listrak_assets.defs.catalog import Catalog
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.clean import CLEAN_ASSETS
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.raw import RAW_ASSETS
from listrak_assets.defs.sftp_sinks import FILE_SINKS, file_key
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.sftp_servers import SftpServer

# The channel each table feeds and whether it holds personal data.
EXPECTED = {
    "customers": ("file", "yes"),
    "products": ("file", "no"),
    "orders": ("file", "yes"),
    "order_items": ("file", "no"),
    "email_audience": ("email", "yes"),
    "sms_audience": ("sms", "yes"),
    # Erasure: the forget table, the ledger, the Forget requests and retention.
    "forget": ("privacy", "yes"),
}
# Erasure's assets run when an erasure arrives, not on a cadence: no freshness policy.
ERASURE = {
    "raw/forget",
    "clean/forget",
    "clean/forget_rejects",
    "erasure/suppression",
    "erasure/retention",
    "erasure/reappearances",
    "listrak/forget_requests",
}
SINK_TABLE = {
    "customer_file": "customers",
    "product_file": "products",
    "order_file": "orders",
    "order_item_file": "order_items",
    "email_audience": "email_audience",
    "email_audience_rejects": "email_audience",
    "sms_audience": "sms_audience",
    "sms_audience_rejects": "sms_audience",
    "forget_requests": "forget",
}


def _specs(workspace: Workspace, **settings: object) -> dict[str, dg.AssetSpec]:
    workspace.settings(**settings)
    defs = build_definitions(Channels(), catalog=Catalog.from_settings(workspace.config))
    return {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}


def _table(key: str) -> str:
    group, name = key.split("/")
    if group == "erasure":
        return "forget"
    return SINK_TABLE[name] if group == "listrak" else name.removesuffix("_rejects")


def test_every_asset_has_owners_tags_and_a_code_version(workspace: Workspace) -> None:
    specs = _specs(workspace, owners=["ann@example.com", "team:crm"])
    # 7 tables' raw/clean/rejects, 8 sinks, the Forget requests, erasure's own 3
    assert len(specs) == 7 * 3 + 8 + 1 + 3
    for key, spec in specs.items():
        channel, pii = EXPECTED[_table(key)]
        assert spec.owners == ["ann@example.com", "team:crm"], key
        assert (spec.tags["channel"], spec.tags["pii"]) == (channel, pii), key
        assert spec.code_version == version("listrak-assets"), key


def test_warehouse_tables_name_their_relation(workspace: Workspace) -> None:
    specs = _specs(workspace)
    assert specs["clean/customers"].metadata["dagster/relation_identifier"] == "clean.customers"
    assert specs["raw/orders"].metadata["dagster/relation_identifier"] == "raw.orders"
    assert "dagster/relation_identifier" not in specs["listrak/customer_file"].metadata


def test_the_destination_shows_with_every_sink(workspace: Workspace) -> None:
    specs = _specs(workspace, name="Shop EU", description="The EU store's Listrak account.")
    sinks = {k: s for k, s in specs.items() if k.startswith("listrak/")}
    assert len(sinks) == 9  # the Forget requests go to Listrak too
    for key, spec in sinks.items():
        assert "Destination: Shop EU: The EU store's Listrak account." in (spec.description or "")
        assert spec.metadata["destination"] == "Shop EU", key
        assert spec.metadata["destination_description"] == "The EU store's Listrak account."
    assert "Shop EU" not in (specs["clean/customers"].description or "")


def test_raw_tables_and_sinks_have_freshness_policies_from_the_settings(
    workspace: Workspace,
) -> None:
    specs = _specs(workspace, freshness={"inputs_max_age_hours": 5, "sinks_max_age_hours": 30})
    for key, spec in specs.items():
        policy = spec.freshness_policy
        if key in ERASURE:
            assert policy is None, key
        elif key.startswith("raw/"):
            assert policy == dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=5))
        elif key.startswith("listrak/") and not key.endswith("_rejects"):
            assert policy == dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=30))
        else:
            assert policy is None, key
    # null switches a policy off.
    specs = _specs(workspace, freshness={"inputs_max_age_hours": None})
    assert specs["raw/customers"].freshness_policy is None
    assert specs["listrak/customer_file"].freshness_policy is not None


def test_a_run_records_where_each_table_is_and_when_its_export_came(
    workspace: Workspace,
) -> None:
    path = workspace.write("customers.csv", "email\nann@example.com\n")
    exported = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC).timestamp()
    os.utime(path, (exported, exported))
    result = workspace.materialize("customers")
    assert result.success
    raw = result.asset_materializations_for_node("raw__customers")[0].metadata
    assert raw["dagster/last_updated_timestamp"].value == exported
    clean = next(
        m
        for m in result.asset_materializations_for_node("clean_customers")
        if m.asset_key == clean_key("customers")
    ).metadata
    uri = clean["dagster/uri"].value
    assert uri == (workspace.warehouse / "clean" / "customers.parquet").resolve().as_uri()
    assert Path(uri.removeprefix("file://")).is_file()


def test_a_file_sink_records_the_sftp_address_of_its_file(
    workspace: Workspace, sandbox_server: SftpServer
) -> None:
    workspace.write("products.csv", "sku,title,price\nA-1,Hat,9.99\n")
    workspace.settings(sftp={"remote_folder": "/"})
    result = dg.materialize(
        [*RAW_ASSETS, *CLEAN_ASSETS, *FILE_SINKS],
        selection=dg.AssetSelection.assets(
            raw_key("products"),
            clean_key("products"),
            rejects_key("products"),
            file_key("products"),
        ),
        resources={**workspace.resources(), "sftp": sandbox_server.resource()},
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    meta = materialization(result, file_key("products"))
    address = f"sftp://{sandbox_server.host}:{sandbox_server.port}{meta['remote_path']}"
    assert meta["dagster/uri"] == address
