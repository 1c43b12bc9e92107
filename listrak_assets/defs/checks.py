"""Referential integrity between the commerce tables.

Warnings, not blockers: Listrak accepts order items whose SKU it doesn't know (it makes a
placeholder product), and an order may come before its customer's file.
"""

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import Prefix, clean_key

SAMPLE = 5


def _orphans(
    child: pl.LazyFrame, parent: pl.LazyFrame, on: str, what: str, column: str
) -> dg.AssetCheckResult:
    """Rows of `child` whose `on` is not in `parent`, reported by `column`. The tables are
    scanned, and only these columns read: neither table is ever whole in memory. The parent
    keys are not made unique first: an anti join keeps or drops each child row once whatever
    the repeats, and hashing the keys for `unique` cost a third of the check."""
    orphans = (
        child.select(list(dict.fromkeys((on, column))))
        .filter(pl.col(on).is_not_null())
        .join(parent.select(on), on=on, how="anti", maintain_order="left")
    )
    total, count, examples = pl.collect_all(
        [
            child.select(pl.len()),
            orphans.select(pl.len()),
            orphans.select(column).unique(maintain_order=True).head(SAMPLE),
        ]
    )
    found, rows = count.item(), total.item()
    return dg.AssetCheckResult(
        passed=found == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{found} of {rows} {what}",
        metadata={
            "orphans": found,
            "rows": rows,
            "examples": dg.MetadataValue.json(examples[column].to_list()),
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
    def items_have_orders(order_items: pl.LazyFrame, orders: pl.LazyFrame) -> dg.AssetCheckResult:
        return _orphans(
            order_items,
            orders,
            "ordernumber",
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
        order_items: pl.LazyFrame, products: pl.LazyFrame
    ) -> dg.AssetCheckResult:
        return _orphans(order_items, products, "sku", "order items point at an unknown SKU", "sku")

    @dg.asset_check(
        asset=clean_key("orders", prefix),
        name="orders_have_customers",
        additional_ins={"customers": dg.AssetIn(key=clean_key("customers", prefix))},
        description="Every order's email is in the customers table.",
    )
    def orders_have_customers(orders: pl.LazyFrame, customers: pl.LazyFrame) -> dg.AssetCheckResult:
        # Order numbers, not emails, identify the orphans: they are not personal data.
        return _orphans(
            orders, customers, "email", "orders have no customer with their email", "ordernumber"
        )

    return [items_have_orders, items_have_products, orders_have_customers]


REFERENTIAL_CHECKS = referential_checks()
