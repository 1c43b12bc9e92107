"""The audience sinks against the Listrak emulator: N generated email contacts, then again with
a share of them replaced; M phone numbers, then again with a share replaced and a tenth of the
rest with a changed attribute. Per send: HTTP requests, bytes, rows sent and wall time.

The emulator runs in the same process, so the times are an upper bound of our side's cost
(building files, base64, upload, polling), not Listrak's import speed."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from listrak_assets.listrak.audience import SendOptions, send_email_audience
from listrak_assets.listrak.auth import Integration
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.email import EmailApi
from listrak_assets.listrak.http import Stats
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.listrak.sms_audience import SmsOptions, sync_sms_audience
from listrak_assets.listrak.state import MemberState, PhoneState
from listrak_assets.sandbox.emulator import run_emulator
from listrak_assets.settings import EmailSink

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana"]
TIERS = ["Bronze", "Silver", "Gold", None]


def email_contacts(start: int, count: int) -> pl.DataFrame:
    """`count` members numbered from `start`, with a name and two attributes."""
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


def email(contacts: int, churn: float, chunk_rows: int = 250_000) -> dict[str, Any]:
    """Send 1 (all new), then send 2 with `churn` of the contacts left and as many new ones."""
    moved = int(contacts * churn)
    sends = [("first", email_contacts(0, contacts)), ("churn", email_contacts(moved, contacts))]
    out: dict[str, Any] = {"contacts": contacts, "changed_in_churn": 2 * moved}
    with tempfile.TemporaryDirectory() as tmp, run_emulator(record_bodies=False) as emulator:
        state = MemberState(Path(tmp) / "state")
        creds = emulator.credentials[Integration.EMAIL]
        options = ClientOptions(api_url=emulator.api_url, auth_url=emulator.auth_url)
        for label, frame in sends:
            stats = Stats()
            started = time.perf_counter()
            with connect(creds, options, stats=stats) as http:
                report = send_email_audience(
                    EmailApi(http),
                    frame,
                    SendOptions(
                        list_name="Newsletter",
                        field_group="Amperity Message Attributes",
                        segment_name="Benchmark Audience",
                        unmatched_columns="create",
                        chunk_rows=chunk_rows,
                        poll_interval=0.5,
                        batch=label,
                        # As the sink runs by default: the churn send is a delta send.
                        full_send_days=EmailSink().full_send_days,
                    ),
                    state,
                )
            out[label] = {
                "seconds": time.perf_counter() - started,
                "requests": stats.requests,
                "bytes_sent": stats.bytes_sent,
                "rows_sent": report.rows_sent,
                "imports": len(report.imports),
                "added": report.added,
                "kept": report.kept,
                "removed": report.removed,
                "send_mode": report.send_mode,  # delta unless a full send is due
            }
        members = emulator.email.field_values(
            "Newsletter", "Amperity Message Attributes", "Benchmark Audience"
        )
        on = {e for e, v in members.items() if v == "on"}
        out["emulator_matches"] = on == set(sends[1][1]["email"])
    return out


def phone_numbers(start: int, count: int, shift: int = 0) -> pl.DataFrame:
    """`count` numbers from `start`, with a name and a tier (rotated by `shift`)."""
    i = pl.int_range(start, start + count, eager=True)
    tiers = ["Bronze", "Silver", "Gold"]
    return pl.DataFrame(
        {
            "phone": "1212" + (i + 1_000_000).cast(pl.String).str.zfill(7),
            "firstname": "Name" + (i % 97).cast(pl.String),
            "tier": pl.Series(tiers).gather((i + shift) % len(tiers)),
        }
    )


def sms(numbers: int, churn: float, concurrency: int = 8) -> dict[str, Any]:
    """Sync 1 (all new), then sync 2 with `churn` replaced and a tenth of the rest re-tiered."""
    moved = int(numbers * churn)
    second = phone_numbers(moved, numbers)
    retiered = pl.int_range(0, second.height, eager=True) % 10 == 0
    second = second.with_columns(
        tier=pl.when(retiered).then(pl.lit("VIP")).otherwise(pl.col("tier"))
    )
    syncs = [("first", phone_numbers(0, numbers)), ("churn", second)]
    out: dict[str, Any] = {"numbers": numbers}
    with run_emulator(record_bodies=False) as emulator, tempfile.TemporaryDirectory() as tmp:
        emulator.sms.create_field("Tier")
        state = PhoneState(Path(tmp) / "state")
        creds = emulator.credentials[Integration.SMS]
        client = ClientOptions(
            api_url=emulator.api_url, auth_url=emulator.auth_url, max_connections=concurrency
        )
        for label, frame in syncs:
            stats = Stats()
            options = SmsOptions(
                "12345", "SMS Audience", concurrency=concurrency, poll_interval=0.05
            )
            started = time.perf_counter()
            with connect(creds, client, stats=stats) as http:
                report = sync_sms_audience(SmsApi(http), frame, options, state)
            out[label] = {
                "seconds": time.perf_counter() - started,
                "requests": stats.requests,
                "bytes_sent": stats.bytes_sent,
                "subscribed": report.subscribed,
                "unsubscribed": report.unsubscribed,
                "updated": report.updated,
            }
        codes = emulator.sms.sender_codes[1]
        [list_id] = [i for i, p in codes.lists.items() if p.name == "SMS Audience"]
        out["emulator_matches"] = set(emulator.sms.members(1, list_id)) == set(second["phone"])
    return out
