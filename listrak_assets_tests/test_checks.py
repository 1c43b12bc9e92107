"""Referential integrity warnings between the commerce tables."""

from __future__ import annotations

import polars as pl

from listrak_assets.defs.checks import _orphans
from listrak_assets_tests.conftest import Workspace, check_results


def test_orphans_are_warned_about_and_the_run_goes_on(workspace: Workspace) -> None:
    workspace.write("customers.csv", "email\na@example.com\n")
    workspace.write("products.csv", "sku,title,price\nS1,Shirt,1\n")
    workspace.write(
        "orders.csv",
        "ordernumber,dateentered,email,ordertotal\n"
        "1,2024-01-01,a@example.com,1\n"
        "2,2024-01-01,stranger@example.com,1\n",
    )
    workspace.write(
        "order_items.csv",
        "ordernumber,sku,quantity,price\n1,S1,1,1\n1,S9,1,1\n99,S1,1,1\n98,S8,1,1\n",
    )
    workspace.write("email_audience.csv", "email\na@example.com\n")
    workspace.write("sms_audience.csv", "phone\n7175559636\n")
    result = workspace.materialize()
    assert result.success  # warnings don't fail the run

    checks = check_results(result)
    orders = checks[("clean/order_items", "items_have_orders")]
    products = checks[("clean/order_items", "items_have_products")]
    customers = checks[("clean/orders", "orders_have_customers")]
    for check in (orders, products, customers):
        assert not check.passed
        assert check.severity.value == "WARN"
    assert orders.metadata["orphans"].value == 2
    assert sorted(orders.metadata["examples"].value) == ["98", "99"]
    assert products.metadata["orphans"].value == 2
    assert customers.metadata["orphans"].value == 1
    assert customers.metadata["examples"].value == ["2"]  # order numbers, not emails


def test_consistent_tables_pass(workspace: Workspace) -> None:
    workspace.write("customers.csv", "email\na@example.com\n")
    workspace.write("products.csv", "sku,title,price\nS1,Shirt,1\n")
    workspace.write(
        "orders.csv", "ordernumber,dateentered,email,ordertotal\n1,2024-01-01,a@example.com,1\n"
    )
    workspace.write("order_items.csv", "ordernumber,sku,quantity,price\n1,S1,1,1\n")
    result = workspace.materialize()
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_orphans_count_each_child_row_once_whatever_the_parents_repeat() -> None:
    """A parent key that repeats (orders of several days stacked) neither hides an orphan nor
    counts a child row twice; a child without a key is no orphan."""
    parent = pl.LazyFrame({"ordernumber": ["1", "1", "2", "2", "2", None]})
    child = pl.LazyFrame(
        {"ordernumber": ["1", "1", "3", "3", "4", None], "sku": ["a", "b", "c", "d", "e", "f"]}
    )
    result = _orphans(child, parent, "ordernumber", "order items point at an unknown order", "sku")
    assert not result.passed
    assert result.metadata["orphans"].value == 3
    assert result.metadata["rows"].value == 6
    assert result.metadata["examples"].value == ["c", "d", "e"]
    assert result.description == "3 of 6 order items point at an unknown order"
