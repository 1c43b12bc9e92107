"""The whole pipeline on generated data whose dirt is counted: every reject, merge and
dangling reference the generator put in must come out, exactly, through one Dagster run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from listrak_assets.defs.keys import clean_key
from listrak_assets.generator import generate
from listrak_assets.inbox import find_files
from listrak_assets.schemas import TABLES
from listrak_assets_tests.conftest import REPO, Workspace, check_results, materialization


def _committed_sample(inbox: Path) -> dict:
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, inbox / path.name)
    return json.loads((REPO / "data" / "sample_manifest.json").read_text())


def _fresh(inbox: Path) -> dict:
    # Another seed and size than the committed sample, so nothing is tuned to one data set.
    return generate(inbox, customers=1500, seed=11, manifest=inbox.parent / "manifest.json")


def _world(inbox: Path) -> dict:
    # A European-style export from New York: decimal commas, local times across DST changes.
    return generate(
        inbox,
        customers=1500,
        seed=13,
        manifest=inbox.parent / "manifest.json",
        decimal_separator=",",
        source_timezone="America/New_York",
    )


@pytest.mark.parametrize(
    "source", [_committed_sample, _fresh, _world], ids=["sample", "generated", "world"]
)
def test_every_counted_dirt_comes_out(workspace: Workspace, source: Callable[[Path], dict]) -> None:
    manifest = source(workspace.inbox)
    # The settings the files were written for (the repository's for the sample).
    workspace.settings(**manifest["settings"])
    result = workspace.materialize()
    assert result.success

    checks = check_results(result)
    for table in TABLES:
        [path] = find_files(workspace.inbox, table)
        expected = manifest["files"][path.name]
        meta = materialization(result, clean_key(table))
        assert meta["rejects_by_reason"] == expected["reject_dirt"], table
        # Invalid optional values are blanked, their rows kept (one value each).
        assert meta["blanked_values"] == sum(expected["blanked_dirt"].values()), table
        assert meta["merged_duplicates"] == expected["duplicates"], table
        assert meta["dagster/row_count"] == expected["clean_rows"], table
        for check in ("schema_valid", "conservation", "key_unique"):
            assert checks[(f"clean/{table}", check)].passed, (table, check)

    # Opt-outs are sticky: a number opted out in an older row stays opted out.
    sms = manifest["files"]["sms_audience.csv"]
    assert sms["sticky_opt_outs"] > 0
    assert workspace.clean("sms_audience")["optedout"].sum() == sms["opted_out"]

    # The generator points good rows only at rows that survive cleaning, so the dangling
    # references found are exactly the ones it made.
    referential = {
        ("clean/orders", "orders_have_customers"): manifest["files"]["orders.csv"]["referential"][
            "unknown_customer"
        ],
        ("clean/order_items", "items_have_orders"): manifest["files"]["order_items.csv"][
            "referential"
        ]["orphan_order"],
        ("clean/order_items", "items_have_products"): manifest["files"]["order_items.csv"][
            "referential"
        ]["orphan_sku"],
    }
    for key, made in referential.items():
        assert made > 0
        assert not checks[key].passed
        assert checks[key].metadata["orphans"].value == made, key
