"""`generate()`: the six raw files and their manifest, from one seed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from listrak_assets.formats import DecimalSeparator
from listrak_assets.generator import tables
from listrak_assets.generator.dirt import CHUNK_ROWS, render_table, valid
from listrak_assets.generator.files import RawFile, write
from listrak_assets.generator.manifest import file_entry, write_manifest
from listrak_assets.generator.people import persons
from listrak_assets.generator.world import Locale, locale, using


def generate(
    out_dir: Path,
    *,
    customers: int = 300,
    products: int | None = None,
    orders: int | None = None,
    items_per_order: float = 2.0,
    email_audience: int | None = None,
    sms_audience: int | None = None,
    seed: int = 7,
    manifest: Path | None = None,
    decimal_separator: DecimalSeparator = ".",
    source_timezone: str = "UTC",
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Write the six raw files to `out_dir` and the manifest (default `out_dir/manifest.json`);
    return the manifest. Sizes default to the proportions of the CLI. `decimal_separator` and
    `source_timezone` say how the export writes amounts and local times: clean the files
    with the same settings. `chunk_rows` bounds how many rows of text are built at a time
    (memory, not content: any value writes the same bytes)."""
    if decimal_separator not in {".", ","}:
        raise ValueError(f"decimal separator {decimal_separator!r} is neither '.' nor ','")
    try:
        ZoneInfo(source_timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {source_timezone!r}") from err
    with using(Locale(decimal_separator, source_timezone)):
        return _generate(
            out_dir,
            customers=customers,
            products=products,
            orders=orders,
            items_per_order=items_per_order,
            email_audience=email_audience,
            sms_audience=sms_audience,
            seed=seed,
            manifest=manifest,
            chunk_rows=chunk_rows,
        )


def _generate(
    out_dir: Path,
    *,
    customers: int,
    products: int | None,
    orders: int | None,
    items_per_order: float,
    email_audience: int | None,
    sms_audience: int | None,
    seed: int,
    manifest: Path | None,
    chunk_rows: int,
) -> dict[str, Any]:
    products = max(50, customers // 4) if products is None else products
    orders = customers if orders is None else orders
    email_audience = customers if email_audience is None else email_audience
    sms_audience = customers // 2 if sms_audience is None else sms_audience
    if min(customers, products) < 1 or min(orders, email_audience, sms_audience) < 0:
        raise ValueError("need at least one customer and one product; no negative sizes")
    if items_per_order < 0:
        raise ValueError("items per order cannot be negative")

    # One independent stream per table: resizing one table leaves the others' draws alone.
    streams = np.random.SeedSequence(seed).spawn(7)
    rng_people, rng_c, rng_p, rng_o, rng_i, rng_e, rng_s = (
        np.random.default_rng(s) for s in streams
    )
    people = persons(rng_people, customers + max(email_audience, sms_audience))

    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, Any]] = {}

    def emit(
        file: RawFile,
        rng: np.random.Generator,
        typed: pl.DataFrame,
        render: Callable[[pl.DataFrame], pl.DataFrame],
        mutate: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> None:
        chunks = render_table(rng, typed, render, mutate, chunk_rows)
        written[file.name] = file_entry(file, write(out_dir / file.name, chunks, file.headers))

    # Each file is written as soon as nothing else needs its typed rows, which are then let go:
    # only one table's text exists at a time. Every table draws from its own stream, so the
    # order of writing changes no value.
    cust = tables.customers.rows(rng_c, people.head(customers))
    prod = tables.products.rows(rng_p, products)
    order_rows = tables.orders.rows(rng_o, orders, valid(cust, tables.customers.FILE.plan))
    emit(
        tables.customers.FILE, rng_c, cust, tables.customers.render, tables.customers.register_later
    )
    del cust
    # Items only for orders and products cleaning keeps: orphans are exactly the counted ones.
    kept_orders = valid(order_rows.with_row_index("_row"), tables.orders.FILE.plan)
    unknown_master = 100_000 + (products - 1) // 3 + 1000  # past the last master SKU
    lines = tables.order_items.rows(
        rng_i,
        kept_orders,
        valid(prod, tables.products.FILE.plan),
        items_per_order,
        unknown_master,
    )
    del kept_orders
    emit(tables.products.FILE, rng_p, prod, tables.products.render, tables.products.restock)
    del prod
    order_rows = tables.orders.with_money(rng_o, order_rows, lines)
    emit(tables.order_items.FILE, rng_i, lines, tables.order_items.render)
    del lines
    emit(tables.orders.FILE, rng_o, order_rows, tables.orders.render)
    del order_rows
    email_rows = tables.email_audience.rows(rng_e, people, email_audience)
    emit(tables.email_audience.FILE, rng_e, email_rows, tables.email_audience.render)
    del email_rows
    sms_rows = tables.sms_audience.rows(rng_s, people, sms_audience)
    del people
    emit(
        tables.sms_audience.FILE,
        rng_s,
        sms_rows,
        tables.sms_audience.render,
        tables.sms_audience.opt_out_earlier,
    )
    del sms_rows
    order = (
        tables.customers,
        tables.products,
        tables.orders,
        tables.order_items,
        tables.email_audience,
        tables.sms_audience,
    )
    result = {
        "seed": seed,
        "sizes": {
            "customers": customers,
            "products": products,
            "orders": orders,
            "items_per_order": items_per_order,
            "email_audience": email_audience,
            "sms_audience": sms_audience,
        },
        # The settings to clean these files with.
        "settings": {
            "decimal_separator": locale().decimal_separator,
            "source_timezone": locale().source_timezone,
        },
        "files": {t.FILE.name: written[t.FILE.name] for t in order},
    }
    write_manifest(out_dir / "manifest.json" if manifest is None else manifest, result)
    return result
