"""Referential integrity between the commerce tables.

Warnings, not blockers: Listrak accepts order items whose SKU it doesn't know (it makes a
placeholder product), and an order may come before its customer's file.
"""

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import Prefix, clean_key

SAMPLE = 5


def _orphans(child: pl.DataFrame, parent: pl.DataFrame, on: str) -> pl.DataFrame:
    parents = parent.select(on).unique()
    return child.filter(pl.col(on).is_not_null()).join(parents, on=on, how="anti")


def _result(orphans: pl.DataFrame, total: int, what: str, column: str) -> dg.AssetCheckResult:
    sample = orphans.select(column).unique(maintain_order=True).head(SAMPLE)[column].to_list()
    return dg.AssetCheckResult(
        passed=orphans.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{orphans.height} of {total} {what}",
        metadata={
            "orphans": orphans.height,
            "rows": total,
            "examples": dg.MetadataValue.json(sample),
        },
    )


def referential_checks(prefix: Prefix = ()) -> list[dg.AssetChecksDefinition]:
    """The checks between the commerce tables of the destination with key prefix `prefix`."""

    @dg.asset_check(
        asset=clean_key("order_items", prefix),
        name="items_have_orders",
        additional_ins={"orders": dg.AssetIn(key=clean_key("orders", prefix))},
        description="Every order item's ordernumber is in the orders table.",
    )
    def items_have_orders(order_items: pl.DataFrame, orders: pl.DataFrame) -> dg.AssetCheckResult:
        return _result(
            _orphans(order_items, orders, "ordernumber"),
            order_items.height,
            "order items point at an unknown order",
            "ordernumber",
        )

    @dg.asset_check(
        asset=clean_key("order_items", prefix),
        name="items_have_products",
        additional_ins={"products": dg.AssetIn(key=clean_key("products", prefix))},
        description="Every order item's sku is in the products table (Listrak would otherwise "
        "create a placeholder product).",
    )
    def items_have_products(
        order_items: pl.DataFrame, products: pl.DataFrame
    ) -> dg.AssetCheckResult:
        return _result(
            _orphans(order_items, products, "sku"),
            order_items.height,
            "order items point at an unknown SKU",
            "sku",
        )

    @dg.asset_check(
        asset=clean_key("orders", prefix),
        name="orders_have_customers",
        additional_ins={"customers": dg.AssetIn(key=clean_key("customers", prefix))},
        description="Every order's email is in the customers table.",
    )
    def orders_have_customers(orders: pl.DataFrame, customers: pl.DataFrame) -> dg.AssetCheckResult:
        orphans = _orphans(orders, customers, "email")
        # Order numbers, not emails, identify the orphans: they are not personal data.
        return _result(
            orphans, orders.height, "orders have no customer with their email", "ordernumber"
        )

    return [items_have_orders, items_have_products, orders_have_customers]


REFERENTIAL_CHECKS = referential_checks()
