"""Orders: placed by customers cleaning keeps (or by guests), totalled from their items."""

from __future__ import annotations

import numpy as np
import polars as pl

from listrak_assets.generator import values
from listrak_assets.generator.dirt import DirtPlan, carries, draw_dirt
from listrak_assets.generator.exprs import select, text, timestamps, vocab, zfill
from listrak_assets.generator.files import RawFile
from listrak_assets.generator.people import customer_number
from listrak_assets.generator.vocabulary import (
    COUPONS,
    DAY,
    GUEST_DOMAIN,
    ORDERS_FROM,
    ORDERS_TO,
    SHIPPED_CODES,
    SHIPPING_METHODS,
    STATUS_CODES,
    STATUS_WEIGHTS,
)

HEADERS = {
    "ordernumber": "OrderNumber", "dateentered": "DateEntered", "email": "Email",
    "customernumber": "CustomerNumber", "itemtotal": "ItemTotal",
    "shippingtotal": "ShippingTotal", "taxtotal": "TaxTotal", "ordertotal": "OrderTotal",
    "status": "Status", "shipdate": "ShipDate", "couponcode": "CouponCode",
    "shippingmethod": "ShippingMethod", "updated_at": "updated_at",
}  # fmt: skip
FILE = RawFile(
    name="orders.csv",
    key=("ordernumber",),
    plan=DirtPlan(
        reject=("invalid_email",),
        referential=("unknown_customer",),
        cosmetic={
            "email_case": 0.08,
            "datetime_format": 0.08,
            "price_format": 0.08,
            "status_name": 0.06,
        },
    ),
    headers=HEADERS,
)


def rows(rng: np.random.Generator, n: int, customers: pl.DataFrame) -> pl.DataFrame:
    """Order rows (typed, with dirt labels, no money yet) placed by valid customers."""
    if customers.height == 0:
        raise ValueError("no valid customers to place orders: raise --customers")
    weights = rng.lognormal(0.0, 1.0, customers.height)  # some customers order a lot
    who = rng.choice(customers.height, size=n, p=weights / weights.sum())
    buyer = customers.select("pid", "email_local", "email_domain", "first_slug", "last_slug")[who]
    entered = rng.integers(ORDERS_FROM, ORDERS_TO, n)
    status = rng.choice(STATUS_CODES, size=n, p=STATUS_WEIGHTS)
    shipped = np.isin(status, SHIPPED_CODES)
    coupon = vocab(COUPONS, rng.integers(0, len(COUPONS), n))
    df = buyer.with_columns(
        ordernumber=zfill(pl.Series(500_000_000 + 3 * np.arange(n, dtype=np.int64)), 10),
        customernumber=customer_number(pl.col("pid")),
        dateentered=timestamps(entered),
        shipdate=timestamps(entered + rng.integers(DAY, 5 * DAY, n)),
        _shipped=pl.Series(shipped),
        status=pl.Series(status),
        couponcode=pl.when(pl.Series(rng.random(n) < 0.15)).then(coupon),
        shippingmethod=vocab(SHIPPING_METHODS, rng.integers(0, len(SHIPPING_METHODS), n)),
        updated=timestamps(entered + rng.integers(0, 20 * DAY, n)),
        _dirt=draw_dirt(rng, n, FILE.plan),
    )
    guest = carries("unknown_customer")
    return df.with_columns(
        shipdate=pl.when(pl.col("_shipped")).then(pl.col("shipdate")),
        email_local=pl.when(guest)
        .then(pl.concat_str(text("guest."), pl.col("ordernumber")))
        .otherwise(pl.col("email_local")),
        email_domain=pl.when(guest).then(text(GUEST_DOMAIN)).otherwise(pl.col("email_domain")),
        customernumber=pl.when(guest).then(None).otherwise(pl.col("customernumber")),
    ).drop("_shipped")


def with_money(rng: np.random.Generator, orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Order totals from its lines (shipping free from $75, state-like tax); orders without
    lines (the rejected ones) get a plausible amount instead."""
    n = orders.height
    summed = np.bincount(
        lines["_order"].to_numpy(), weights=lines["itemtotal"].to_numpy(), minlength=n
    )
    has_lines = np.bincount(lines["_order"].to_numpy(), minlength=n) > 0
    fallback = np.round(rng.lognormal(4.0, 0.7, n) * 100)
    item_total = np.where(has_lines, summed, fallback).astype(np.int64)
    shipping = np.where(
        item_total >= 7_500, 0, rng.choice(np.array([599, 795, 999]), size=n)
    ).astype(np.int64)
    tax_rate = rng.choice(np.array([0.0, 0.06, 0.07, 0.0825]), size=n)
    tax = np.round(item_total * tax_rate).astype(np.int64)
    return orders.with_columns(
        itemtotal=pl.Series(item_total),
        shippingtotal=pl.Series(shipping),
        taxtotal=pl.Series(tax),
        ordertotal=pl.Series(item_total + shipping + tax),
    )


def render(df: pl.DataFrame) -> pl.DataFrame:
    """Order rows as the raw export writes them."""
    return select(
        df,
        "ordernumber",
        values.datetime("dateentered").alias("dateentered"),
        values.email(respell_duplicates=False).alias("email"),
        "customernumber",
        values.money("itemtotal").alias("itemtotal"),
        values.money("shippingtotal").alias("shippingtotal"),
        values.money("taxtotal").alias("taxtotal"),
        values.money("ordertotal").alias("ordertotal"),
        values.status("status").alias("status"),
        values.datetime("shipdate").alias("shipdate"),
        "couponcode",
        "shippingmethod",
        values.updated_at().alias("updated_at"),
    )
