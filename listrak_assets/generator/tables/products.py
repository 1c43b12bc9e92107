"""Products: three colour variants per master SKU, written as Parquet with every column as text."""

from __future__ import annotations

import numpy as np
import polars as pl

from listrak_assets.generator import values
from listrak_assets.generator.dirt import DirtPlan, carries, draw_dirt
from listrak_assets.generator.exprs import select, text, timestamps, variant, vocab
from listrak_assets.generator.files import RawFile
from listrak_assets.generator.vocabulary import (
    ADJECTIVES,
    BRANDS,
    CATEGORIES,
    COLORS,
    DESCRIPTION_LINES,
    LONG_DESCRIPTION_TAIL,
    LONG_SKU_TAIL,
    LONG_TITLE_TAIL,
    ORDERS_FROM,
    ORDERS_TO,
)

HEADERS = {
    "sku": "sku", "title": "Title", "price": "Price", "description": "Description",
    "imageurl": "ImageURL", "linkurl": "LinkUrl", "brand": "brand", "category": "Category",
    "subcategory": "SubCategory", "mastersku": "MasterSku", "qoh": "QOH",
    "instock": "InStock", "onsale": "OnSale", "saleprice": "SalePrice",
    "updated_at": "updated_at",
}  # fmt: skip
FILE = RawFile(
    name="products.parquet",
    key=("sku",),
    plan=DirtPlan(
        reject=("invalid_boolean", "invalid_number", "too_long", "missing_required"),
        blanked=("invalid_boolean",),  # instock
        cosmetic={
            "price_format": 0.12,
            "boolean_format": 0.08,
            "line_breaks": 0.06,
            "too_long_text": 0.04,
        },
    ),
    headers=HEADERS,
)


def rows(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Product rows (typed, with dirt labels): three colour variants per master SKU."""
    idx = np.arange(n, dtype=np.int64)
    master = idx // 3
    n_masters = int(master[-1]) + 1 if n else 0
    color_i = (master * 7 + idx % 3) % len(COLORS)  # distinct within a master
    # Master-level attributes, shared by the variants.
    cats = list(CATEGORIES)
    cat_m = rng.integers(0, len(cats), n_masters)
    sub_m = rng.integers(0, 3, n_masters)
    noun_m = rng.integers(0, 3, n_masters)
    premium = rng.random(n_masters) < 0.05
    dollars = np.where(
        premium, rng.lognormal(6.6, 0.6, n_masters), rng.lognormal(3.3, 0.8, n_masters)
    )
    dollars = np.clip(np.round(dollars), 4, 9_999).astype(np.int64)
    ending = rng.choice(np.array([-1, 0, -50]), size=n_masters, p=[0.7, 0.2, 0.1])
    cents = (dollars * 100 + ending)[master]
    on_sale = rng.random(n) < 0.15
    factor = rng.uniform(0.6, 0.85, n)
    sale_cents = np.maximum((cents * factor).astype(np.int64) // 100 * 100 - 1, 99)
    qoh = np.where(rng.random(n) < 0.1, 0, rng.integers(1, 500, n))
    cat, sub_i, noun_i = cat_m[master], sub_m[master], noun_m[master]
    category = vocab(cats, cat)
    subcategory = pl.Series([s for c in cats for s in CATEGORIES[c][0]]).gather(cat * 3 + sub_i)
    noun = pl.Series([w for c in cats for w in CATEGORIES[c][1]]).gather(cat * 3 + noun_i)
    desc_a = rng.integers(0, len(DESCRIPTION_LINES), n_masters)[master]
    desc_b = (desc_a + 1 + rng.integers(0, len(DESCRIPTION_LINES) - 1, n)) % len(DESCRIPTION_LINES)
    df = pl.DataFrame(
        {
            "mastersku": pl.Series(100_000 + master).cast(pl.String),
            "color": vocab(COLORS, color_i),
            "color_slug": vocab(COLORS, color_i, 1),
            "brand": vocab(BRANDS, rng.integers(0, len(BRANDS), n_masters)[master]),
            "adjective": vocab(ADJECTIVES, rng.integers(0, len(ADJECTIVES), n_masters)[master]),
            "noun": noun,
            "category": category,
            "subcategory": subcategory,
            "desc_a": vocab(DESCRIPTION_LINES, desc_a),
            "desc_b": vocab(DESCRIPTION_LINES, desc_b),
            "price": cents,
            "saleprice": np.where(on_sale, sale_cents, 0),
            "onsale": on_sale,
            "qoh": qoh,
            "updated": timestamps(rng.integers(ORDERS_FROM, ORDERS_TO, n)),
            "_dirt": draw_dirt(rng, n, FILE.plan),
        }
    )
    return df.with_columns(
        sku=pl.concat_str(pl.col("mastersku"), text("-"), pl.col("color_slug")),
        title=pl.concat_str(
            pl.col("brand"),
            text(" "),
            pl.col("adjective"),
            text(" "),
            pl.col("noun"),
            text(" - "),
            pl.col("color"),
        ),
        instock=pl.col("qoh") > 0,
    )


def render(df: pl.DataFrame) -> pl.DataFrame:
    """Product rows as the raw export writes them (all text, even in Parquet)."""
    long_desc = pl.col("_v") % 2 == 0
    return select(
        df,
        pl.when(carries("missing_required"))
        .then(None)
        .when(carries("too_long"))
        .then(pl.concat_str(pl.col("sku"), text(LONG_SKU_TAIL)))
        .otherwise(pl.col("sku"))
        .alias("sku"),
        values.too_long_text("title", LONG_TITLE_TAIL, when=~long_desc).alias("title"),
        values.money("price", invalid_kind="invalid_number").alias("price"),
        pl.when(carries("line_breaks"))
        .then(pl.concat_str(pl.col("desc_a"), variant(["\r\n", "\n", "\n\n"]), pl.col("desc_b")))
        .when(carries("too_long_text") & long_desc)
        .then(
            pl.concat_str(
                pl.col("desc_a"), text(" "), pl.col("desc_b"), text(LONG_DESCRIPTION_TAIL)
            )
        )
        .otherwise(pl.concat_str(pl.col("desc_a"), text(" "), pl.col("desc_b")))
        .alias("description"),
        pl.concat_str(text("https://cdn.example.com/img/"), pl.col("sku"), text(".jpg")).alias(
            "imageurl"
        ),
        pl.concat_str(
            text("https://shop.example.com/p/"),
            pl.col("mastersku"),
            text("?color="),
            pl.col("color_slug"),
        ).alias("linkurl"),
        "brand",
        "category",
        "subcategory",
        "mastersku",
        pl.col("qoh").cast(pl.String).alias("qoh"),
        values.boolean("instock", invalid_kind="invalid_boolean").alias("instock"),
        values.boolean("onsale").alias("onsale"),
        pl.when(pl.col("onsale"))
        .then(values.money("saleprice"))
        .otherwise(None)
        .alias("saleprice"),
        values.updated_at().alias("updated_at"),
    )


def restock(copies: pl.DataFrame) -> pl.DataFrame:
    """A later product export: stock has moved."""
    qoh = (pl.col("qoh") + 7) % 500
    return copies.with_columns(qoh=qoh, instock=qoh > 0)
