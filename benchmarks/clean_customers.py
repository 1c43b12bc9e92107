"""How long N generated customers take from raw file to clean, validated table, against
plain polars reading and writing the same file in the same run.

    python benchmarks/clean_customers.py --customers 1000000

Prints seconds per stage and the ratio to the baseline. Not a test: timings depend on the
machine, ratios much less so.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from listrak_assets.cleaning.emails import fast_email, normalise_email
from listrak_assets.cleaning.phones import library_share, normalise_phone
from listrak_assets.cleaning.table import CleanOptions, clean_table
from listrak_assets.cleaning.text import clean_text
from listrak_assets.generator import generate
from listrak_assets.inbox import read_table
from listrak_assets.schemas import TABLES

T = TypeVar("T")


def _timed(label: str, fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<44}{seconds:8.2f} s")
    return value, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    spec = TABLES["customers"]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(
            folder,
            customers=args.customers,
            products=50,
            orders=0,
            email_audience=0,
            sms_audience=0,
            seed=args.seed,
        )
        source = folder / "customers.csv"
        size_mb = source.stat().st_size / 1e6
        print(f"customers.csv: {size_mb:.0f} MB\n")

        def baseline() -> None:
            pl.read_csv(source, infer_schema=False).write_parquet(folder / "baseline.parquet")

        _, base = _timed("baseline: polars read_csv + write_parquet", baseline)
        raw, t_raw = _timed(
            "raw: read as text, check shape, match columns",
            lambda: read_table(
                spec, [source], mapping={"Zip": "zipcode", "Mobile Phone": "mobilephone"}
            ),
        )
        result, t_clean = _timed(
            "clean: normalise, reject, de-duplicate, validate",
            lambda: clean_table(raw.frame, spec, CleanOptions()),
        )
        _, t_write = _timed(
            "store: clean + rejects to Parquet",
            lambda: (
                result.clean.write_parquet(folder / "clean.parquet"),
                result.rejects.write_parquet(folder / "rejects.parquet"),
            ),
        )
        total = t_raw + t_clean + t_write
        print(
            f"\nrows: {result.raw_rows} raw, {result.clean.height} clean, "
            f"{result.rejected_rows} rejected, {result.merged_rows} merged"
        )
        print(
            f"raw -> clean -> validated -> stored: {total:.2f} s "
            f"= {total / base:.1f}x the polars baseline ({base:.2f} s)"
        )
        _libraries(raw.frame)
        _, t_dagster = _timed("dagster run: raw/ and clean/customers", lambda: _materialize(folder))
        print(
            f"the same as a Dagster run (Parquet in and out, checks, metadata): {t_dagster:.2f} s "
            f"= {t_dagster / base:.1f}x the baseline"
        )


def _libraries(raw: pl.DataFrame) -> None:
    """What the reference libraries cost: each normaliser on its own, and the share of
    distinct values that its vectorised path leaves to the library."""
    phones = clean_text(raw["mobilephone"])
    emails = clean_text(raw["email"])
    print()
    _timed("  phones (phonenumbers + vectorised path)", lambda: normalise_phone(phones, "US"))
    _timed("  emails (email-validator + vectorised path)", lambda: normalise_email(emails))
    distinct = emails.drop_nulls().unique()
    email_share = fast_email(distinct).null_count() / max(distinct.len(), 1)
    print(
        f"  distinct values through the library: phones {library_share(phones, 'US'):.2%} "
        f"of {phones.drop_nulls().n_unique()}, emails {email_share:.2%} of {distinct.len()}\n"
    )


def _materialize(folder: Path) -> None:
    """The real assets, run by Dagster on the generated file."""
    import dagster as dg
    import yaml

    from listrak_assets.defs.clean import CLEAN_ASSETS
    from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
    from listrak_assets.defs.raw import RAW_ASSETS
    from listrak_assets.defs.resources import ListrakSettings, ParquetIOManager

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "listrak.yaml").read_text())
    config.update(inbox=str(folder), warehouse=str(folder / "warehouse"))
    (folder / "listrak.yaml").write_text(yaml.safe_dump(config))
    settings = ListrakSettings(path=str(folder / "listrak.yaml"))
    keys = [raw_key("customers"), clean_key("customers"), rejects_key("customers")]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*RAW_ASSETS, *CLEAN_ASSETS],  # not the sinks: they need their servers
            selection=dg.AssetSelection.assets(*keys),
            resources={"settings": settings, "io_manager": ParquetIOManager(settings=settings)},
            instance=instance,
        )
    assert result.success


if __name__ == "__main__":
    main()
