"""The numbers opted out of a sender code, read once per sync and kept beside the mirror state.

An opted-out number can't be subscribed again, so a sync that tried would spend a refused
create and a look on it, on every run, for ever. Instead the sink reads the sender code's
opt-outs (`GET /ShortCode/{id}/OptOut`): all of them the first time, then only those since the
latest opt-out date it has seen (less a day, so an opt-out recorded late or in the same second
is not missed), and skips those numbers. The record is `<warehouse>/state/sms_opt_outs.parquet`:
one row per number with its opt-out date, and in the Parquet metadata the format version, the
sender code, the cursor and the run that read it last: the removal guard's check and the sink
of one run share one read. It is written as soon as it is read (a record of Listrak's facts,
not of our writes). It holds phone numbers (PII), like the state files beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from listrak_assets.listrak.sms import SmsApi
from listrak_assets.listrak.state import META_KEY, StateError
from listrak_assets.storage import (
    Location,
    read_parquet,
    read_parquet_metadata,
    text,
    write_parquet,
)

FORMAT_VERSION = 1
OVERLAP = timedelta(days=1)  # re-read this much before the cursor
_SCHEMA = {"phone": pl.String, "opt_out_date": pl.String}


def _digits(phone: object) -> str:
    return "".join(ch for ch in str(phone or "") if ch.isdigit())


@dataclass(frozen=True)
class OptOuts:
    """The sender code's opted-out numbers as known after this sync's read."""

    sender_code_id: int
    frame: pl.DataFrame  # phone, opt_out_date
    cursor: str | None  # the latest opt-out date seen; None: none seen yet
    since: str | None  # the `startDate` this read asked for; None: a full read
    read: int  # opt-outs this read returned
    run: str | None = None  # the run that read them

    @property
    def phones(self) -> frozenset[str]:
        return frozenset(self.frame["phone"].to_list())


class OptOutRecord:
    """The opt-out record of the SMS sink, in the state folder."""

    def __init__(self, folder: Location) -> None:
        self.path = folder / "sms_opt_outs.parquet"

    def load(self, sender_code_id: int) -> tuple[pl.DataFrame, dict[str, Any]]:
        """The numbers on record for this sender code and the record's metadata (cursor, run;
        nothing for another sender code)."""
        empty = pl.DataFrame(schema=_SCHEMA)
        if not self.path.is_file():
            return empty, {}
        try:
            info = json.loads(read_parquet_metadata(self.path).get(META_KEY) or "{}")
            frame = read_parquet(self.path)
        except Exception as err:  # noqa: BLE001 (polars raises several kinds for a bad file)
            raise StateError(
                f"opt-out record {text(self.path)} can't be read ({type(err).__name__}); move it "
                "away: the next sync reads every opt-out again"
            ) from None
        if int(info.get("version", 0)) > FORMAT_VERSION:
            raise StateError(
                f"opt-out record {text(self.path)} has format version {info.get('version')}, newer "
                f"than this listrak-assets understands ({FORMAT_VERSION}); upgrade listrak-assets"
            )
        if info.get("scope") != {"sender_code_id": sender_code_id}:
            return empty, {}
        return frame.select(*_SCHEMA).cast(_SCHEMA), info  # type: ignore[arg-type]

    def save(self, opt_outs: OptOuts) -> None:
        info = {
            "version": FORMAT_VERSION,
            "scope": {"sender_code_id": opt_outs.sender_code_id},
            "cursor": opt_outs.cursor,
            "since": opt_outs.since,
            "read": opt_outs.read,
            "run": opt_outs.run,
        }
        write_parquet(opt_outs.frame, self.path, {META_KEY: json.dumps(info)})


def _when(text: str | None) -> datetime | None:
    """An opt-out date as a naive UTC-less datetime (Listrak writes no zone); None when it
    can't be read."""
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=None) if text else None
    except ValueError:
        return None


def _since(cursor: str | None) -> str | None:
    when = _when(cursor)
    return None if when is None else (when - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S")


def read_opt_outs(
    api: SmsApi, sender_code_id: int, record: OptOutRecord, run: str | None = None
) -> OptOuts:
    """The opt-outs on record and those Listrak lists since the cursor, recorded at once;
    when `run` already read them (its removal guard check), the record, without a request."""
    known, info = record.load(sender_code_id)
    cursor = info.get("cursor")
    if run is not None and info.get("run") == run:
        since, read = info.get("since"), int(info.get("read") or 0)
        return OptOuts(sender_code_id, known, cursor, since, read, run)
    since = _since(cursor)
    rows = [
        (_digits(o.get("phoneNumber")), str(o.get("optOutDate") or ""))
        for o in api.opt_outs(sender_code_id, since)
    ]
    new = pl.DataFrame([r for r in rows if r[0]], schema=_SCHEMA, orient="row")
    frame = pl.concat([known, new]).unique("phone", keep="last").sort("phone")
    dates = [w for w in (_when(d) for d in [cursor, *(d for _, d in rows)]) if w is not None]
    latest = max(dates).strftime("%Y-%m-%dT%H:%M:%S") if dates else None
    found = OptOuts(sender_code_id, frame, latest, since, len(rows), run)
    record.save(found)
    return found
