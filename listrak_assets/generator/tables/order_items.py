"""Order items: lines of the orders and products cleaning keeps, plus counted orphans."""

from __future__ import annotations

import numpy as np
import polars as pl

from listrak_assets.generator import values
from listrak_assets.generator.dirt import DirtPlan, carries, draw_dirt
from listrak_assets.generator.exprs import select, text, variant, zfill
from listrak_assets.generator.files import RawFile
from listrak_assets.generator.world import locale

HEADERS = {
    "ordernumber": "OrderNumber", "sku": "SKU", "status": "Status", "quantity": "Quantity",
    "price": "Price", "discountedprice": "DiscountedPrice", "itemtotal": "ItemTotal",
    "updated_at": "updated_at",
}  # fmt: skip
FILE = RawFile(
    name="order_items.csv",
    key=("ordernumber", "sku"),
    plan=DirtPlan(
        reject=("invalid_number", "missing_required"),
        referential=("orphan_order", "orphan_sku"),
        cosmetic={"price_format": 0.15, "status_name": 0.12},
    ),
    headers=HEADERS,
)


def rows(
    rng: np.random.Generator,
    orders: pl.DataFrame,
    products: pl.DataFrame,
    items_per_order: float,
    unknown_master: int,
) -> pl.DataFrame:
    """Item rows (typed, with dirt labels) for the given orders from the given products, no
    SKU twice in an order. `orders` carries `_row`, its row in the order file, which becomes
    the lines' `_order`; orphan SKUs use master numbers from `unknown_master` on."""
    if products.height == 0:
        raise ValueError("no valid products to sell: raise --products")
    n_orders = orders.height
    if items_per_order >= 1:
        per_order = 1 + rng.poisson(items_per_order - 1, n_orders)
    else:
        per_order = (rng.random(n_orders) < items_per_order).astype(np.int64)
    per_order = np.minimum(per_order, products.height)
    order_of_line = np.repeat(np.arange(n_orders), per_order)
    popularity = 1.0 / (np.arange(products.height) + 10.0)  # a few best sellers
    product_of_line = rng.choice(
        products.height, size=len(order_of_line), p=popularity / popularity.sum()
    )
    lines = pl.DataFrame({"_order": order_of_line, "_product": product_of_line}).unique(
        maintain_order=True
    )
    n = lines.height
    order_i = lines["_order"].to_numpy()
    product_i = lines["_product"].to_numpy()
    sold = products.select("sku", "price", "saleprice", "onsale", "color_slug")[product_i]
    price = np.where(
        sold["onsale"].to_numpy(), sold["saleprice"].to_numpy(), sold["price"].to_numpy()
    ).astype(np.int64)
    pct_off = rng.choice(np.array([0, 10, 15, 20]), size=n, p=[0.8, 0.1, 0.05, 0.05])
    discounted = price * (100 - pct_off) // 100
    quantity = rng.choice(np.arange(1, 6), size=n, p=[0.6, 0.25, 0.08, 0.05, 0.02])
    bought = orders.select("_row", "ordernumber", "status", "updated")[order_i]
    # Orphans point outside the files: order numbers no order has (the order file leads with
    # "05"), SKUs on master numbers past the catalogue; one per row, so keys stay unique.
    orphan_order = zfill(pl.Series(900_000_000 + np.arange(n, dtype=np.int64)), 10)
    orphan_sku = pl.concat_str(
        pl.Series(unknown_master + np.arange(n, dtype=np.int64)).cast(pl.String),
        text("-"),
        sold["color_slug"],
    )
    df = pl.DataFrame(
        {
            "_order": bought["_row"].cast(pl.Int64),
            "ordernumber": bought["ordernumber"],
            "sku": sold["sku"],
            "status": bought["status"],
            "quantity": quantity,
            "price": price,
            "discountedprice": discounted,
            "itemtotal": quantity * discounted,
            "updated": bought["updated"],
            "_dirt": draw_dirt(rng, n, FILE.plan),
        }
    )
    return df.with_columns(
        ordernumber=pl.when(carries("orphan_order"))
        .then(orphan_order)
        .otherwise(pl.col("ordernumber")),
        sku=pl.when(carries("orphan_sku")).then(orphan_sku).otherwise(pl.col("sku")),
    )


def render(df: pl.DataFrame) -> pl.DataFrame:
    """Item rows as the raw export writes them."""
    return select(
        df,
        "ordernumber",
        pl.when(carries("missing_required")).then(None).otherwise(pl.col("sku")).alias("sku"),
        values.status("status").alias("status"),
        pl.when(carries("invalid_number"))
        .then(variant(["two", f"1{locale().decimal_separator}5", "several"]))
        .otherwise(pl.col("quantity").cast(pl.String))
        .alias("quantity"),
        values.money("price").alias("price"),
        values.money("discountedprice").alias("discountedprice"),
        values.money("itemtotal").alias("itemtotal"),
        values.updated_at().alias("updated_at"),
    )
