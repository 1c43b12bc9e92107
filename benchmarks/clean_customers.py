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

from listrak_assets.cleaning.emails import fast_email, library_email, normalise_email
from listrak_assets.cleaning.phones import fast_e164, library_e164, normalise_phone
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
    """What the reference libraries cost: each normaliser whole, then the library path alone
    (the distinct values the vectorised path leaves to `phonenumbers` / `email-validator`,
    each judged once), and the share of values that take it."""
    phones = clean_text(raw["mobilephone"])
    emails = clean_text(raw["email"])
    print()
    _timed("  phones (phonenumbers + vectorised path)", lambda: normalise_phone(phones, "US"))
    _timed("  emails (email-validator + vectorised path)", lambda: normalise_email(emails))
    distinct_phones = phones.drop_nulls().unique()
    slow_phones = distinct_phones.filter(fast_e164(distinct_phones, "US").is_null())
    distinct_emails = emails.drop_nulls().unique()
    slow_emails = distinct_emails.filter(fast_email(distinct_emails).is_null())
    _, t_phone = _timed(
        "  library path: phonenumbers", lambda: [library_e164(t, "US") for t in slow_phones]
    )
    _, t_email = _timed(
        "  library path: email-validator", lambda: [library_email(t) for t in slow_emails]
    )
    print(f"  library paths together: {t_phone + t_email:.2f} s")
    for label, series, slow in (
        ("phones", phones, slow_phones),
        ("emails", emails, slow_emails),
    ):
        values = series.drop_nulls()
        rows = values.is_in(slow.implode()).sum()
        print(
            f"  {label} through the library: {slow.len() / max(values.n_unique(), 1):.2%} of "
            f"{values.n_unique()} distinct values, {rows / max(values.len(), 1):.2%} of "
            f"{values.len()} values"
        )
    print()


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
