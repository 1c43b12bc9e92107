"""The jobs: `refresh` builds everything; each `publish_*` job builds and sends one channel's
tables and nothing else; a channel switched off has no job."""

from __future__ import annotations

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.schemas import TABLES


def _assets(definitions: dg.Definitions, job: str) -> set[str]:
    graph = definitions.resolve_job_def(job).asset_layer.asset_graph
    return {k.to_user_string() for k in graph.materializable_asset_keys}


def _checks(definitions: dg.Definitions, job: str) -> set[tuple[str, str]]:
    graph = definitions.resolve_job_def(job).asset_layer.asset_graph
    return {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}


def _chain(table: str) -> set[str]:
    return {f"raw/{table}", f"clean/{table}", f"clean/{table}_rejects"}


FILE_TABLES = ("customers", "products", "orders", "order_items")
# Retention and the erasure of forgotten people found again run after every table's rejects.
AFTER_EVERY_TABLE = {"erasure/retention", "erasure/reappearances"}
ERASURE = {
    "raw/forget",
    "clean/forget",
    "clean/forget_rejects",
    "erasure/suppression",
    "listrak/forget_requests",
}


def test_each_publish_job_builds_and_sends_its_own_channel() -> None:
    assert (
        _assets(defs, "publish_email")
        == _chain("email_audience")
        | {
            "listrak/email_audience",
            "listrak/email_audience_rejects",
        }
        | AFTER_EVERY_TABLE
    )
    assert (
        _assets(defs, "publish_sms")
        == _chain("sms_audience")
        | {
            "listrak/sms_audience",
            "listrak/sms_audience_rejects",
        }
        | AFTER_EVERY_TABLE
    )
    assert (
        _assets(defs, "publish_files")
        == set().union(*(_chain(t) for t in FILE_TABLES))
        | {
            "listrak/customer_file",
            "listrak/product_file",
            "listrak/order_file",
            "listrak/order_item_file",
        }
        | AFTER_EVERY_TABLE
    )
    everything = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert _assets(defs, "publish_all") == everything == _assets(defs, "refresh")


def test_the_jobs_run_the_checks_of_their_tables() -> None:
    assert ("clean/email_audience", "removal_guard") in _checks(defs, "publish_email")
    assert not {c for c in _checks(defs, "publish_email") if "email" not in c[0]}
    files = _checks(defs, "publish_files")
    assert ("clean/order_items", "items_have_products") in files
    assert ("clean/orders", "orders_have_customers") in files
    assert not {c for c in files if "audience" in c[0]}


def test_a_channel_switched_off_has_no_job() -> None:
    no_sms = build_definitions(Channels(sms=False))
    names = {j.name for j in no_sms.jobs or []}
    assert names == {"refresh", "publish_email", "publish_files", "publish_all"}
    assert not {k for k in _assets(no_sms, "publish_all") if "sms" in k}

    audiences_only = build_definitions(Channels(sftp=False))
    assert "publish_files" not in {j.name for j in audiences_only.jobs or []}
    # The commerce tables still build with `refresh`, but nothing publishes them.
    assert (
        _assets(audiences_only, "publish_all")
        == _chain("email_audience")
        | _chain("sms_audience")
        | {f"listrak/{a}{s}" for a in ("email_audience", "sms_audience") for s in ("", "_rejects")}
        | AFTER_EVERY_TABLE
        | ERASURE
    )
    assert "raw/orders" in _assets(audiences_only, "refresh")

    nothing = build_definitions(Channels(email=False, sms=False, sftp=False))
    assert {j.name for j in nothing.jobs or []} == {"refresh"}
    assert (
        _assets(nothing, "refresh")
        == set().union(*(_chain(t) for t in FILE_TABLES)) | AFTER_EVERY_TABLE | ERASURE
    )
    assert len(TABLES) == len(FILE_TABLES) + 2
