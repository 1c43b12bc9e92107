"""How many HTTP requests and how long it takes to send N generated contacts to the Listrak
emulator, then to send them again with some churn (leavers turned off, newcomers on).

    python benchmarks/email_sink.py --contacts 1000000

Prints, per send, the requests the client made (all of them: token, reads, writes, polls,
retries), the bytes it sent and the wall time, and checks that the emulator ends with exactly
the right members. Not a test: the emulator is a stand-in, so the times say what our side
costs (building files, base64, upload, polling), not how fast Listrak imports.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from listrak_assets.listrak.audience import SendOptions, send_email_audience
from listrak_assets.listrak.auth import Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.email import EmailApi
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.state import MemberState
from listrak_assets.sandbox.emulator import run_emulator

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana"]
TIERS = ["Bronze", "Silver", "Gold", None]


def audience(start: int, count: int) -> pl.DataFrame:
    """`count` members numbered from `start`, with a name and two attributes, vectorised."""
    i = pl.int_range(start, start + count, eager=True)
    return pl.DataFrame(
        {
            "email": "member" + i.cast(pl.String) + "@example.com",
            "firstname": pl.Series(FIRST).gather(i % len(FIRST)),
            "lastname": "Lastname" + (i % 997).cast(pl.String),
            "loyalty_tier": pl.Series(TIERS, dtype=pl.String).gather(i % len(TIERS)),
            "favorite_category": pl.Series(["Outdoor", "Apparel", "Home"]).gather(i % 3),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--churn", type=float, default=0.1, help="share replaced in send 2")
    parser.add_argument(
        "--full-send-days",
        type=int,
        default=7,
        help="email.full_send_days: 0 sends the whole audience every time (delta otherwise)",
    )
    args = parser.parse_args()

    first = audience(0, args.contacts)
    moved = int(args.contacts * args.churn)
    second = audience(moved, args.contacts)  # the first `moved` leave, as many new ones join
    with tempfile.TemporaryDirectory() as tmp, run_emulator(record_bodies=False) as emulator:
        state = MemberState(Path(tmp) / "state")
        creds = emulator.credentials[Integration.EMAIL]
        options = ClientOptions(api_url=emulator.api_url, auth_url=emulator.auth_url)
        for label, frame in (
            ("send 1 (all new)", first),
            (f"send 2 ({args.churn:.0%} churn)", second),
        ):
            stats = Stats()
            emulator.clear_requests()
            waited: list[float] = []

            def sleep(seconds: float, waited: list[float] = waited) -> None:
                waited.append(seconds)
                time.sleep(seconds)

            start = time.perf_counter()
            with connect(creds, options, stats=stats) as http:
                report = send_email_audience(
                    EmailApi(http),
                    frame,
                    SendOptions(
                        list_name="Newsletter",
                        field_group="Amperity Message Attributes",
                        segment_name="Benchmark Audience",
                        unmatched_columns="create",
                        chunk_rows=args.chunk_rows,
                        poll_interval=2.0,
                        batch=label.split()[1],
                        full_send_days=args.full_send_days,
                    ),
                    state,
                    sleep=sleep,
                )
            seconds = time.perf_counter() - start
            print(
                f"{label}: {report.added:,} added, {report.kept:,} kept, {report.removed:,} "
                f"removed; {len(report.imports)} import files, {report.rows_sent:,} rows "
                f"({report.send_mode}, {report.members_unchanged:,} unchanged)"
            )
            print(
                f"  {stats.requests} HTTP requests ({stats.writes} writes, "
                f"{stats.token_requests} token, {stats.retries} retries; the emulator saw "
                f"{len(emulator.requests)}), {stats.bytes_sent / 1e6:,.1f} MB sent, "
                f"{seconds:.1f} s wall time"
            )
            print(
                f"  of which {sum(waited):.1f} s between import status polls (the emulator "
                f"importing); answers by status: {stats.by_status}"
            )

        members = emulator.email.field_values(
            "Newsletter", "Amperity Message Attributes", "Benchmark Audience"
        )
        on = {e for e, v in members.items() if v == "on"}
        assert on == set(second["email"]), "the emulator's members differ from the audience"
        assert sum(v == "off" for v in members.values()) == moved
        print(f"emulator state checked: {len(on):,} members on, {moved:,} turned off")


if __name__ == "__main__":
    main()
