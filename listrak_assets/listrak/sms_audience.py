"""Keeps a Listrak SMS phone list in step with the SMS audience (no Dagster in here).

One sync: resolve the sender code and phone list (never created) and match attribute columns
to the SMS profile fields (read-only over the API), read who is on the list now, then:
new numbers are created and subscribed (or, when the sender code knows them, subscribed),
numbers that left the audience are unsubscribed from this list only, opted-out rows are never
subscribed, and changed profile values go out in one contact-update import (standard fields,
which the import can't carry, by a per-contact update). The SMS API has no bulk subscribe, so
subscribing and unsubscribing are per-number calls, run `concurrency` at a time.

Everything that can fail without writing is decided first; a dry run stops there.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from listrak_assets.listrak.errors import (
    ListrakApiError,
    ListrakConfigError,
    ListrakUnavailable,
    OutcomeUnknown,
)
from listrak_assets.listrak.sms import SmsApi, SmsField, SmsImportFile

PHONE = "phone"
OPTED_OUT = "optedout"
# Audience columns that are standard SMS contact fields, not profile fields.
STANDARD = {"email": "emailAddress", "firstname": "firstName", "lastname": "lastName"}
REJECT_COLUMNS: dict[str, pl.DataType] = {
    "phone": pl.String(),
    "action": pl.String(),
    "error": pl.String(),
}
IMPORT_ROWS = 100_000  # contacts per contact-update import file
_ROUNDS = 3  # tries when an answer to a write is lost

Policy = Literal["fail", "warn", "create"]


@dataclass(frozen=True)
class SmsOptions:
    """Where to sync and how; from the settings' `sms:` section."""

    sender_code: str
    phone_list: str
    unmatched_columns: Policy = "warn"
    dry_run: bool = False
    concurrency: int = 8
    poll_interval: float = 5.0
    poll_timeout: float = 3600.0
    batch: str = "run"


@dataclass
class SmsReport:
    """What a sync did or, in a dry run, would do."""

    dry_run: bool
    sender_code_id: int
    phone_list_id: int
    mapped: dict[str, str]  # audience column -> profile field name
    unmatched: list[str]
    subscribed: int = 0
    created: int = 0  # of the subscribed, numbers new to the sender code
    updated: int = 0
    unsubscribed: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    imports: list[dict[str, object]] = field(default_factory=list)
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECT_COLUMNS))

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count


@dataclass(frozen=True)
class _Row:
    phone: str
    standard: dict[str, str]  # SMSContact field -> value (null values left out)
    values: dict[int, str]  # profile field id -> value (null sent as empty)

    def body(self) -> dict[str, Any]:
        return {
            "phoneNumber": self.phone,
            **self.standard,
            "segmentationFieldValues": [
                {"segmentationFieldId": k, "value": v} for k, v in sorted(self.values.items())
            ],
        }


def _current(contact: dict[str, Any]) -> tuple[dict[str, str], dict[int, str]]:
    standard = {k: str(contact.get(k) or "") for k in STANDARD.values()}
    values = {
        int(v["segmentationFieldId"]): str(v.get("value") or "")
        for v in contact.get("segmentationFieldValues") or []
    }
    return standard, values


def _differs(row: _Row, contact: dict[str, Any]) -> tuple[bool, bool]:
    """(standard fields differ, profile values differ)."""
    standard, values = _current(contact)
    return (
        any(standard.get(k) != v for k, v in row.standard.items()),
        any(values.get(k, "") != v for k, v in row.values.items()),
    )


def _match_fields(
    columns: list[str], fields: list[SmsField], policy: Policy
) -> tuple[dict[str, SmsField], list[str]]:
    by_name = {f.name.strip().casefold(): f for f in sorted(fields, key=lambda f: -f.field_id)}
    mapped = {c: by_name[c.strip().casefold()] for c in columns if c.strip().casefold() in by_name}
    unmatched = [c for c in columns if c not in mapped]
    if unmatched and policy == "fail":
        existing = ", ".join(sorted(f.name for f in fields)) or "(none)"
        raise ListrakConfigError(
            f"SMS audience columns {', '.join(unmatched)} have no SMS profile field (fields: "
            f"{existing}). SMS profile fields can't be created over the API: create them in "
            "Listrak, rename the columns, or set `unmatched_columns: warn` to drop them"
        )
    return mapped, unmatched


def _rows(audience: pl.DataFrame, mapped: dict[str, SmsField]) -> tuple[list[_Row], list[str]]:
    """The rows to subscribe and the phones of opted-out rows."""
    phones = audience[PHONE].cast(pl.String).str.replace_all(r"\D", "")
    frame = audience.with_columns(phones.alias(PHONE))
    opted = (
        frame[OPTED_OUT].cast(pl.Boolean).fill_null(False)
        if OPTED_OUT in frame.columns
        else pl.Series([False] * frame.height)
    )
    standard = [c for c in STANDARD if c in frame.columns]
    rows: list[_Row] = []
    opted_out: list[str] = []
    for record, out in zip(frame.iter_rows(named=True), opted.to_list(), strict=True):
        phone = record[PHONE]
        if out:
            opted_out.append(phone)
            continue
        rows.append(
            _Row(
                phone,
                {STANDARD[c]: str(record[c]) for c in standard if record[c] is not None},
                {
                    f.field_id: "" if record[c] is None else str(record[c])
                    for c, f in mapped.items()
                },
            )
        )
    return rows, opted_out


def _import_file(rows: list[_Row], field_ids: list[int], name: str) -> SmsImportFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(["Phone", *(str(f) for f in field_ids)])
    for row in rows:
        writer.writerow([row.phone, *(row.values.get(f, "") for f in field_ids)])
    return SmsImportFile(name, buffer.getvalue().encode("utf-8"), tuple(field_ids))


def _code(err: ListrakApiError) -> str:
    return err.code or str(err.status)


def sync_sms_audience(
    api: SmsApi,
    audience: pl.DataFrame,
    options: SmsOptions,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> SmsReport:
    """Mirror `audience` (one row per phone, E.164 digits) into the phone list."""
    if PHONE not in audience.columns:
        raise ListrakConfigError("the SMS audience has no `phone` column")
    for key in ("sender_code", "phone_list"):
        if not str(getattr(options, key)).strip():
            raise ListrakConfigError(f"`sms.{key}` is empty in the settings (see README)")
    if options.concurrency < 1:
        raise ListrakConfigError("`sms.concurrency` must be at least 1")
    attributes = [
        c
        for c in audience.columns
        if c not in (PHONE, OPTED_OUT, *STANDARD) and audience[c].null_count() < audience.height
    ]
    code = api.find_sender_code(options.sender_code)
    phone_list = api.find_phone_list(code.sender_code_id, options.phone_list)
    mapped, unmatched = _match_fields(
        attributes, api.fields(code.sender_code_id), options.unmatched_columns
    )
    if unmatched:
        log(
            "SMS audience columns without an SMS profile field are left out: "
            f"{', '.join(unmatched)} (SMS profile fields are created in Listrak only)"
        )
    rows, opted_out = _rows(audience, mapped)
    members = {
        str(c.get("phoneNumber")): c
        for c in api.list_contacts(code.sender_code_id, phone_list.phone_list_id)
    }
    report = SmsReport(
        dry_run=options.dry_run,
        sender_code_id=code.sender_code_id,
        phone_list_id=phone_list.phone_list_id,
        mapped={c: f.name for c, f in mapped.items()},
        unmatched=unmatched,
    )
    report.skip("opted out in the audience", len(opted_out))
    wanted = {r.phone for r in rows}
    joiners = [r for r in rows if r.phone not in members]
    leavers = sorted(set(members) - wanted)
    puts: list[_Row] = []
    imports: list[_Row] = []
    for row in rows:
        if row.phone in members:
            standard, values = _differs(row, members[row.phone])
            (puts if standard else imports if values else []).append(row)
    report.kept = len(rows) - len(joiners)
    if options.dry_run:
        report.subscribed = len(joiners)
        report.unsubscribed = len(leavers)
        report.updated = len(puts) + len(imports)
        return report

    sc, pl_id = code.sender_code_id, phone_list.phone_list_id
    rejects: list[tuple[str, str, str]] = []

    def join(row: _Row) -> tuple[str, _Row]:
        """Subscribe one number: `created`, `subscribed`, `update`/`import` (subscribed, its
        profile to update) or `opted_out`."""
        for _ in range(_ROUNDS):
            # Most joiners are new numbers: try to create first, and look only when the
            # sender code already knows the number (one call per new number, not two).
            try:
                api.create_and_subscribe(sc, pl_id, row.body())
            except OutcomeUnknown:
                continue  # maybe created: the next try finds it
            except ListrakApiError as err:
                if err.code != "ERROR_PHONE_NUMBER_FOUND":
                    raise
            else:
                return "created", row
            contact = api.contact(sc, row.phone)
            if contact is None:
                continue
            if contact.get("optedOut"):
                return "opted_out", row
            try:
                api.subscribe(sc, row.phone, pl_id)
            except OutcomeUnknown:
                continue
            except ListrakApiError as err:
                if err.code != "ERROR_SUBSCRIBED_PHONE_NUMBER":
                    raise
            standard, values = _differs(row, contact)
            return ("update" if standard else "import" if values else "subscribed"), row
        raise OutcomeUnknown("POST", f"/ShortCode/{sc}/.../Contact", _ROUNDS, "lost")

    def leave(phone: str) -> None:
        try:
            api.unsubscribe(sc, phone, pl_id)
        except ListrakApiError as err:
            if err.code != "ERROR_PHONE_NUMBER_NOT_SUBSCRIBED":  # already off: done
                raise

    def update(row: _Row) -> None:
        api.update_contact(sc, row.body())

    def run(action: str, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """`work` on every item, `concurrency` at a time; a failure rejects that item only."""

        def safe(item: Any) -> Any:
            try:
                return work(item)
            except ListrakApiError as err:
                rejects.append((getattr(item, "phone", item), action, _code(err)))
            except ListrakUnavailable as err:
                rejects.append((getattr(item, "phone", item), action, type(err).__name__))
            return None

        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            return [r for r in pool.map(safe, items) if r is not None]

    for outcome, row in run("subscribe", join, joiners):
        if outcome == "opted_out":
            report.skip("opted out at Listrak")
            continue
        report.subscribed += 1
        report.created += outcome == "created"
        if outcome == "update":
            puts.append(row)
        elif outcome == "import":
            imports.append(row)
    report.unsubscribed = len(leavers)
    before = len(rejects)
    run("unsubscribe", leave, leavers)
    report.unsubscribed -= len(rejects) - before
    before = len(rejects)
    run("update", update, puts)
    report.updated = len(puts) - (len(rejects) - before)

    field_ids = sorted({f.field_id for f in mapped.values()})
    for number, start in enumerate(range(0, len(imports), IMPORT_ROWS), start=1):
        part = imports[start : start + IMPORT_ROWS]
        name = f"listrak-assets_sms-audience_{options.batch}_{number:03d}.csv"
        file = _import_file(part, field_ids, name)
        import_id = None
        for _ in range(_ROUNDS):
            try:
                import_id = api.start_import(sc, file)
                break
            except OutcomeUnknown:
                continue  # an update import is safe to send again
        if import_id is None:
            raise OutcomeUnknown("POST", f"/ShortCode/{sc}/ContactImport", _ROUNDS, "lost")
        log(f"SMS contact import {import_id} started: {name} ({len(part)} contacts)")
        status = api.wait_for_import(
            sc,
            import_id,
            name,
            interval=options.poll_interval,
            timeout=options.poll_timeout,
            sleep=sleep,
        )
        report.updated += len(part)
        report.imports.append(
            {"file": name, "rows": len(part), "import_id": import_id, "status": status.status}
        )
    report.rejects = pl.DataFrame(rejects, schema=REJECT_COLUMNS, orient="row")
    return report
