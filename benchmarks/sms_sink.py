"""How many HTTP requests and how long it takes to sync N generated numbers into a phone list
of the Listrak emulator, then to sync again with some churn and changed attributes.

    python benchmarks/sms_sink.py --numbers 100000 --concurrency 8

Prints, per sync, the requests the client made (token, reads, writes, retries) and the wall
time, and checks that the emulator ends with exactly the right members. Not a test: the
emulator is a stand-in, so the times say what our side and a local HTTP round trip cost.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from listrak_assets.listrak.auth import Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.listrak.sms_audience import SmsOptions, sync_sms_audience
from listrak_assets.listrak.state import PhoneState
from listrak_assets.sandbox.emulator import run_emulator

TIERS = ["Bronze", "Silver", "Gold"]


def audience(start: int, count: int, shift: int = 0) -> pl.DataFrame:
    """`count` numbers from `start`, with a name and a tier (rotated by `shift`)."""
    i = pl.int_range(start, start + count, eager=True)
    return pl.DataFrame(
        {
            "phone": "1212" + (i + 1_000_000).cast(pl.String).str.zfill(7),
            "firstname": "Name" + (i % 97).cast(pl.String),
            "tier": pl.Series(TIERS).gather((i + shift) % len(TIERS)),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--churn", type=float, default=0.1, help="share replaced in sync 2")
    args = parser.parse_args()

    moved = int(args.numbers * args.churn)
    runs = [("first", audience(0, args.numbers)), ("second", audience(moved, args.numbers))]
    # In the second sync a tenth of the kept numbers change tier (an import, not a call each).
    second = runs[1][1]
    changed = pl.int_range(0, second.height, eager=True) % 10 == 0
    runs[1] = (
        "second",
        second.with_columns(tier=pl.when(changed).then(pl.lit("VIP")).otherwise(pl.col("tier"))),
    )
    with run_emulator(record_bodies=False) as emulator, tempfile.TemporaryDirectory() as tmp:
        emulator.sms.create_field("Tier")
        state = PhoneState(Path(tmp) / "state")
        creds = emulator.credentials[Integration.SMS]
        client = ClientOptions(
            api_url=emulator.api_url,
            auth_url=emulator.auth_url,
            max_connections=args.concurrency,
        )
        for label, frame in runs:
            stats = Stats()
            options = SmsOptions(
                "12345", "SMS Audience", concurrency=args.concurrency, poll_interval=0.05
            )
            started = time.perf_counter()
            with connect(creds, client, stats=stats) as http:
                report = sync_sms_audience(SmsApi(http), frame, options, state)
            seconds = time.perf_counter() - started
            print(
                f"{label}: {frame.height} numbers, {report.subscribed} subscribed, "
                f"{report.unsubscribed} unsubscribed, {report.updated} updated; "
                f"{stats.requests} requests ({stats.writes} writes, {stats.retries} retries), "
                f"{seconds:.1f} s ({stats.requests / seconds:.0f} requests/s)",
                flush=True,
            )
        codes = emulator.sms.sender_codes[1]
        [list_id] = [i for i, p in codes.lists.items() if p.name == "SMS Audience"]
        got = set(emulator.sms.members(1, list_id))
        assert got == set(runs[1][1]["phone"]), "the phone list does not match the audience"
        print("final phone list matches the audience")


if __name__ == "__main__":
    main()
