"""`python -m listrak_assets.generator`: generate at the sizes given, print rows per file."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from listrak_assets.generator.dirt import CHUNK_ROWS
from listrak_assets.generator.driver import generate


def _count(text: str) -> int:
    """argparse type: a non-negative integer."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m listrak_assets.generator",
        description="Write the six raw Listrak inputs, realistic and deliberately messy, plus a "
        "manifest that counts every kind of dirt.",
    )
    p.add_argument("--customers", type=_count, default=300, help="customers (default 300)")
    p.add_argument("--products", type=_count, help="products (default max(50, customers // 4))")
    p.add_argument("--orders", type=_count, help="orders (default: as many as customers)")
    p.add_argument(
        "--items-per-order", type=float, default=2.0, help="mean items per order (default 2.0)"
    )
    p.add_argument("--email-audience", type=_count, help="email audience (default customers)")
    p.add_argument("--sms-audience", type=_count, help="SMS audience (default customers // 2)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--decimal-separator",
        choices=[".", ","],
        default=".",
        help="write amounts with this decimal separator, as the `decimal_separator` setting "
        "reads them (default .)",
    )
    p.add_argument(
        "--source-timezone",
        default="UTC",
        help="write times without an offset in this zone, with some at its DST changes, as the "
        "`source_timezone` setting reads them (default UTC)",
    )
    p.add_argument(
        "--chunk-rows",
        type=_count,
        default=CHUNK_ROWS,
        help=f"rows rendered and written at a time: bounds memory, changes no byte "
        f"(default {CHUNK_ROWS:,})",
    )
    p.add_argument("--out", type=Path, default=Path("data/generated"), help="output folder")
    p.add_argument("--manifest", type=Path, help="manifest path (default <out>/manifest.json)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: generate, then print rows per file and the time it took."""
    parser = _parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        result = generate(
            args.out,
            customers=args.customers,
            products=args.products,
            orders=args.orders,
            items_per_order=args.items_per_order,
            email_audience=args.email_audience,
            sms_audience=args.sms_audience,
            seed=args.seed,
            manifest=args.manifest,
            decimal_separator=args.decimal_separator,
            source_timezone=args.source_timezone,
            chunk_rows=args.chunk_rows,
        )
    except ValueError as err:  # sizes too small to build valid references from
        parser.error(str(err))
    elapsed = time.perf_counter() - started
    for name, entry in result["files"].items():
        print(f"{name:<20} {entry['rows']:>10,} rows")
    print(f"wrote {args.out} in {elapsed:.2f} s")
    return 0
