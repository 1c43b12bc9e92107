"""Keeps a Listrak SMS phone list in step with the SMS audience (no Dagster in here).

One sync: resolve the sender code and phone list (never created) and match attribute columns
to the SMS profile fields (read-only over the API), read who is on the list now and the sender
code's opt-outs (incrementally, `opt_outs`), then: new numbers are created and subscribed (or,
when the sender code knows them, subscribed), numbers that left the audience are unsubscribed
from this list only, opted-out rows and numbers opted out at Listrak are never sent, and
changed profile values go out in one contact-update import (standard fields, which the import
can't carry, by a per-contact update). The SMS API has no bulk subscribe, so
subscribing and unsubscribing are per-number calls, run `concurrency` at a time.

Only numbers this sink subscribed are unsubscribed when they leave (its own record, in
`state.PhoneState`), unless whole-list mirroring is chosen for a list that is the audience's
alone. A write whose answer was lost is looked up before it is reported, so a number is reported
rejected only when it really is not subscribed.

Everything that can fail without writing is decided first; a dry run stops there.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import polars as pl

from listrak_assets.listrak.errors import (
    ListrakApiError,
    ListrakConfigError,
    ListrakError,
    ListrakUnavailable,
    OutcomeUnknown,
)
from listrak_assets.listrak.fields import Policy, ProfileField, match_fields, values_body
from listrak_assets.listrak.opt_outs import OptOutRecord, OptOuts, read_opt_outs
from listrak_assets.listrak.sms import SmsApi, SmsImportFile
from listrak_assets.listrak.state import PhoneState

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

# Rejects whose write did not land for want of an answer (not a verdict of Listrak's).
TRANSPORT = ("ListrakUnavailable", "OutcomeUnknown")

T = TypeVar("T")
Change = Literal["update", "import"]
Mirror = Literal["owned", "whole_list"]


class StateMissing(ListrakError):
    """No record of the numbers this sink subscribed, on a phone list that has members."""

    def __init__(self, path: str, phone_list: str, on_list: int) -> None:
        super().__init__(
            f"no record of which numbers on phone list {phone_list!r} this sink subscribed "
            f"({path} is missing), and the list has {on_list} members. The phone list can't "
            "tell our numbers from anyone else's, so nothing is sent rather than guess. If the "
            "sink has never sent to this list, run it once with the run tag "
            "`listrak/sms_first_send=true`: a first send removes nothing, and the record "
            "appears after it succeeds. If the record was lost, restore that file from a "
            "backup. If the list holds this audience only, set `sms.mirror: whole_list` to "
            "mirror the whole list"
        )


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
    mirror: Mirror = "owned"
    first_send: bool = False  # a missing record is expected: nothing of ours is on the list
    run: str | None = None  # the run this sync belongs to: its steps share one opt-out read


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
    previous: int = 0  # numbers that could leave: ours (owned) or the whole list's
    previous_source: str = "state"
    owned: int = 0  # numbers this sink subscribed, after the sync
    looked_up: int = 0  # writes whose answer was lost, settled by looking
    opt_outs_read: int = 0  # opt-outs Listrak listed this sync
    opt_outs_known: int = 0  # numbers opted out of the sender code, as known after it
    opt_outs_since: str | None = None  # the read's startDate; None: every opt-out was read

    @property
    def failed_writes(self) -> int:
        """Writes that did not land for want of an answer (a re-run sends them again)."""
        return int(self.rejects["error"].is_in(TRANSPORT).sum())

    @property
    def refused(self) -> int:
        """Numbers Listrak answered with an error."""
        return self.rejects.height - self.failed_writes

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
            "segmentationFieldValues": values_body(dict(sorted(self.values.items()))),
        }


def _current(contact: dict[str, Any]) -> tuple[dict[str, str], dict[int, str]]:
    standard = {k: str(contact.get(k) or "") for k in STANDARD.values()}
    values = {
        int(v["segmentationFieldId"]): str(v.get("value") or "")
        for v in contact.get("segmentationFieldValues") or []
    }
    return standard, values


def _change(row: _Row, contact: dict[str, Any]) -> Change | None:
    """How a known number's profile is brought up to date: by a per-contact update when a
    standard field differs (the import can't carry those), by the import when only profile
    values do; None when nothing differs."""
    standard, values = _current(contact)
    if any(standard.get(k) != v for k, v in row.standard.items()):
        return "update"
    if any(values.get(k, "") != v for k, v in row.values.items()):
        return "import"
    return None


def _check(options: SmsOptions, audience: pl.DataFrame) -> None:
    if PHONE not in audience.columns:
        raise ListrakConfigError("the SMS audience has no `phone` column")
    for key in ("sender_code", "phone_list"):
        if not str(getattr(options, key)).strip():
            raise ListrakConfigError(f"`sms.{key}` is empty in the settings (see README)")
    if options.concurrency < 1:
        raise ListrakConfigError("`sms.concurrency` must be at least 1")


def _attributes(audience: pl.DataFrame) -> list[str]:
    """Profile-field columns with a value in some row."""
    return [
        c
        for c in audience.columns
        if c not in (PHONE, OPTED_OUT, *STANDARD) and audience[c].null_count() < audience.height
    ]


def _no_sms_field(fields: list[ProfileField]) -> Callable[[list[str]], Exception]:
    def refuse(unmatched: list[str]) -> Exception:
        existing = ", ".join(sorted(f.name for f in fields)) or "(none)"
        return ListrakConfigError(
            f"SMS audience columns {', '.join(unmatched)} have no SMS profile field (fields: "
            f"{existing}). SMS profile fields can't be created over the API: create them in "
            "Listrak, rename the columns, or set `unmatched_columns: warn` to drop them"
        )

    return refuse


def _rows(audience: pl.DataFrame, mapped: dict[str, ProfileField]) -> tuple[list[_Row], list[str]]:
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


@dataclass(frozen=True)
class SmsPlan:
    """A sync as decided before its first write: where, which fields, who joins, who leaves
    and whose profile changes. Everything that can fail without writing has been checked."""

    options: SmsOptions
    sender_code_id: int
    phone_list_id: int
    mapped: dict[str, ProfileField]  # audience column -> its profile field
    unmatched: list[str]
    joiners: list[_Row]  # not on the list yet
    leavers: list[str]  # on the list, not in the audience, and ours (or whole-list mirroring)
    puts: list[_Row]  # members whose standard fields changed: a per-contact update each
    imports: list[_Row]  # members whose profile values changed: the contact-update import
    kept: int  # members who stay
    opted_out: int  # rows opted out in the audience
    owned: frozenset[str] = frozenset()  # numbers this sink subscribed before this sync
    staying: frozenset[str] = frozenset()  # the audience's numbers that are not opted out
    previous: int = 0
    previous_source: str = "state"
    opt_outs: OptOuts | None = None  # the sender code's opt-outs, read for this sync
    opted_out_at_listrak: int = 0  # audience numbers skipped: opted out of the sender code

    def report(self) -> SmsReport:
        """The report of a sync that has written nothing yet."""
        report = SmsReport(
            dry_run=self.options.dry_run,
            sender_code_id=self.sender_code_id,
            phone_list_id=self.phone_list_id,
            mapped={c: f.name for c, f in self.mapped.items()},
            unmatched=self.unmatched,
            kept=self.kept,
            previous=self.previous,
            previous_source=self.previous_source,
            owned=len(self.owned),
        )
        report.skip("opted out in the audience", self.opted_out)
        if self.opt_outs is not None:
            report.opt_outs_read = self.opt_outs.read
            report.opt_outs_known = self.opt_outs.frame.height
            report.opt_outs_since = self.opt_outs.since
        report.skip("opted out at Listrak", self.opted_out_at_listrak)
        return report


def _previous(
    state: PhoneState,
    scope: tuple[int, int],
    options: SmsOptions,
    on_list: set[str],
    log: Callable[[str], None],
) -> tuple[frozenset[str], set[str], str]:
    """The numbers this sink subscribed before, the numbers that may leave, and where the
    latter came from. Without a record on a list that has members, the sync refuses."""
    owned = set(state.previous(*scope).to_list())
    if options.mirror == "whole_list":
        return frozenset(owned), set(on_list), "phone list (whole_list)"
    if state.has_record(*scope):
        return frozenset(owned), owned, "state"
    if on_list and not options.first_send:
        raise StateMissing(str(state.members_path), options.phone_list, len(on_list))
    log(
        "first send to this phone list: nothing is removed; the record of the numbers this "
        f"sink subscribes ({state.members_path.name}) starts with this send"
    )
    return frozenset(), set(), "first send"


def plan_sms_audience(
    api: SmsApi,
    audience: pl.DataFrame,
    options: SmsOptions,
    state: PhoneState,
    log: Callable[[str], None] = lambda _: None,
) -> SmsPlan:
    """Read only: check the settings, find the sender code, the phone list and the fields,
    and compare the audience with who is on the list now and with the numbers that are ours."""
    _check(options, audience)
    code = api.find_sender_code(options.sender_code)
    phone_list = api.find_phone_list(code.sender_code_id, options.phone_list)
    fields = api.fields(code.sender_code_id)
    match = match_fields(
        _attributes(audience), fields, options.unmatched_columns, _no_sms_field(fields)
    )
    if match.unmatched:
        log(
            "SMS audience columns without an SMS profile field are left out: "
            f"{', '.join(match.unmatched)} (SMS profile fields are created in Listrak only)"
        )
    rows, opted_out = _rows(audience, match.mapped)
    opt_outs = read_opt_outs(api, code.sender_code_id, OptOutRecord(state.folder), options.run)
    members = {
        str(c.get("phoneNumber")): c
        for c in api.list_contacts(code.sender_code_id, phone_list.phone_list_id)
    }
    known = [(r, _change(r, members[r.phone])) for r in rows if r.phone in members]
    scope = (code.sender_code_id, phone_list.phone_list_id)
    owned, previous, source = _previous(state, scope, options, set(members), log)
    staying = {r.phone for r in rows}
    stopped = opt_outs.phones
    joiners = [r for r in rows if r.phone not in members]
    return SmsPlan(
        options=options,
        sender_code_id=code.sender_code_id,
        phone_list_id=phone_list.phone_list_id,
        mapped=match.mapped,
        unmatched=match.unmatched,
        joiners=[r for r in joiners if r.phone not in stopped],
        leavers=sorted((previous & set(members)) - staying),
        puts=[r for r, change in known if change == "update"],
        imports=[r for r, change in known if change == "import"],
        kept=len(known),
        opted_out=len(opted_out),
        owned=owned,
        staying=frozenset(staying),
        previous=len(previous),
        previous_source=source,
        opt_outs=opt_outs,
        opted_out_at_listrak=sum(r.phone in stopped for r in joiners),
    )


@dataclass(frozen=True)
class _Joined:
    """How a joiner's subscribe ended: `created`, `subscribed`, `update`/`import` (subscribed,
    its profile to update) or `opted_out`; `ours` when our own call put it on the list."""

    outcome: str
    row: _Row
    ours: bool


class _Sync:
    """The writes of one sync: per-number calls `concurrency` at a time, where a failure
    rejects that number only, then the contact-update import."""

    def __init__(
        self,
        api: SmsApi,
        plan: SmsPlan,
        log: Callable[[str], None],
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.api = api
        self.plan = plan
        self.log = log
        self.warn = warn
        self.code = plan.sender_code_id
        self.list_id = plan.phone_list_id
        self.rejects: list[tuple[str, str, str]] = []
        self.unknown: set[str] = set()  # numbers whose outcome stayed unknown after looking
        self.looked_up_numbers: set[str] = set()

    def run(self, action: str, work: Callable[[T], Any], items: list[T]) -> list[Any]:
        """`work` on every item, `concurrency` at a time; a failure rejects that item only.
        The results of the items that did not fail, in order."""

        def safe(item: T) -> Any:
            try:
                return work(item)
            except ListrakApiError as err:
                self.rejects.append((str(getattr(item, "phone", item)), action, _code(err)))
            except ListrakUnavailable as err:
                self.rejects.append((str(getattr(item, "phone", item)), action, type(err).__name__))
            return None

        with ThreadPoolExecutor(max_workers=self.plan.options.concurrency) as pool:
            return [r for r in pool.map(safe, items) if r is not None]

    def failing(self, action: str, work: Callable[[T], Any], items: list[T]) -> list[T]:
        """Run `work` on every item; the items that failed."""
        before = len(self.rejects)
        self.run(action, work, items)
        failed = {phone for phone, _, _ in self.rejects[before:]}
        return [i for i in items if getattr(i, "phone", i) in failed]

    def settle(self, phone: str) -> bool | None:
        """After a write whose answer was lost: is `phone` subscribed now? None when even the
        look fails: the number stays pending and the write counts as failed."""
        self.looked_up_numbers.add(phone)  # one write a number, however often it is looked at
        try:
            return self.api.subscribed(self.code, phone, self.list_id)
        except ListrakUnavailable:
            self.unknown.add(phone)
            return None

    def join(self, row: _Row) -> _Joined:
        """Subscribe one number. It is ours when our create or subscribe call succeeded, or
        when one of ours lost its answer and the number is subscribed after it."""
        lost = False  # a call of ours may have landed without our hearing of it
        look = False  # look before creating: the number may be there
        for _ in range(_ROUNDS):
            # Most joiners are new numbers: try to create first, and look only when the
            # sender code already knows the number (one call per new number, not two), or
            # when the answer to a create was lost (it is never sent again before a look).
            if not look:
                try:
                    self.api.create_and_subscribe(self.code, self.list_id, row.body())
                except ListrakUnavailable:
                    # Maybe created: look before anything else, never create again blind.
                    lost = True
                    if self._landed("subscribe", row.phone):
                        return _Joined("created", row, True)
                    continue  # looked: not on the list, so trying again is safe
                except ListrakApiError as err:
                    if err.code != "ERROR_PHONE_NUMBER_FOUND":
                        raise
                else:
                    return _Joined("created", row, True)
            contact = self.api.contact(self.code, row.phone)
            if contact is None:
                look = False  # not there: create it
                continue
            look = True  # there: never created again
            if contact.get("optedOut"):
                return _Joined("opted_out", row, False)
            try:
                self.api.subscribe(self.code, row.phone, self.list_id)
            except ListrakUnavailable:
                lost = True
                continue
            except ListrakApiError as err:
                if err.code != "ERROR_SUBSCRIBED_PHONE_NUMBER":
                    raise
                # Already on the list: ours only if a call of ours may have put it there.
                return _Joined(_change(row, contact) or "subscribed", row, lost)
            return _Joined(_change(row, contact) or "subscribed", row, True)
        # Every answer was lost: look before reporting anything.
        self._settled("subscribe", row.phone, wanted=True)
        return _Joined("subscribed", row, True)

    def _landed(self, action: str, phone: str) -> bool:
        """After a lost answer: whether `phone` is subscribed now; raise when even the look
        fails (the number stays pending)."""
        now = self.settle(phone)
        if now is None:
            path = f"/ShortCode/{self.code}/.../{phone[:1]}***"
            raise OutcomeUnknown(action, path, _ROUNDS, "answer lost and the look failed")
        return now

    def _settled(self, action: str, phone: str, *, wanted: bool) -> None:
        """Raise unless looking shows the write landed (`wanted`: subscribed after it)."""
        now = self._landed(action, phone)
        path = f"/ShortCode/{self.code}/.../{phone[:1]}***"
        if now is not wanted:
            raise ListrakUnavailable(action, path, _ROUNDS, "answer lost; looked: not applied")

    def leave(self, phone: str) -> None:
        try:
            self.api.unsubscribe(self.code, phone, self.list_id)
        except ListrakApiError as err:
            if err.code != "ERROR_PHONE_NUMBER_NOT_SUBSCRIBED":  # already off: done
                raise
        except ListrakUnavailable:
            self._settled("unsubscribe", phone, wanted=False)

    def update(self, row: _Row) -> None:
        self.api.update_contact(self.code, row.body())

    def start_import(self, file: SmsImportFile) -> str:
        for _ in range(_ROUNDS):
            try:
                return self.api.start_import(self.code, file)
            except OutcomeUnknown:
                continue  # an update import is safe to send again
        raise OutcomeUnknown("POST", f"/ShortCode/{self.code}/ContactImport", _ROUNDS, "lost")

    def import_profiles(
        self, rows: list[_Row], report: SmsReport, sleep: Callable[[float], None]
    ) -> None:
        """Profile values of known numbers, `IMPORT_ROWS` contacts a file."""
        options = self.plan.options
        field_ids = sorted({f.field_id for f in self.plan.mapped.values()})
        for number, start in enumerate(range(0, len(rows), IMPORT_ROWS), start=1):
            part = rows[start : start + IMPORT_ROWS]
            name = f"listrak-assets_sms-audience_{options.batch}_{number:03d}.csv"
            import_id = self.start_import(_import_file(part, field_ids, name))
            self.log(f"SMS contact import {import_id} started: {name} ({len(part)} contacts)")
            status = self.api.wait_for_import(
                self.code,
                import_id,
                name,
                interval=options.poll_interval,
                timeout=options.poll_timeout,
                sleep=sleep,
                warn=self.warn,
            )
            report.updated += len(part)
            report.imports.append(
                {"file": name, "rows": len(part), "import_id": import_id, "status": status.status}
            )


def send_sms_plan(
    api: SmsApi,
    plan: SmsPlan,
    state: PhoneState,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    *,
    warn: Callable[[str], None] | None = None,
) -> SmsReport:
    """Carry out a plan: subscribe the joiners, unsubscribe the leavers, record which numbers
    are ours, then update the changed profiles. A dry run only reports; `warn` hears what the
    imports' status words leave in doubt."""
    report = plan.report()
    if plan.options.dry_run:
        report.subscribed = len(plan.joiners)
        report.unsubscribed = len(plan.leavers)
        report.updated = len(plan.puts) + len(plan.imports)
        return report
    scope = (plan.sender_code_id, plan.phone_list_id)
    # Before the first write: every number this sync may subscribe, so that a run killed
    # half way still has them on record next time.
    state.record_pending(*scope, keys=[r.phone for r in plan.joiners])
    sync = _Sync(api, plan, log, warn)
    puts, imports = list(plan.puts), list(plan.imports)
    joined: set[str] = set()
    for result in sync.run("subscribe", sync.join, plan.joiners):
        if result.outcome == "opted_out":
            report.skip("opted out at Listrak")
            continue
        report.subscribed += 1
        report.created += result.outcome == "created"
        if result.ours:
            joined.add(result.row.phone)
        if result.outcome == "update":
            puts.append(result.row)
        elif result.outcome == "import":
            imports.append(result.row)
    stuck = sync.failing("unsubscribe", sync.leave, plan.leavers)
    report.unsubscribed = len(plan.leavers) - len(stuck)
    owned = (plan.owned & plan.staying) | joined | (plan.owned & set(stuck))
    state.commit(*scope, members=sorted(owned), unknown=sorted(sync.unknown))
    report.owned = len(owned)
    report.updated = len(puts) - len(sync.failing("update", sync.update, puts))
    sync.import_profiles(imports, report, sleep)
    report.looked_up = len(sync.looked_up_numbers)
    report.rejects = pl.DataFrame(sync.rejects, schema=REJECT_COLUMNS, orient="row")
    return report


def sync_sms_audience(
    api: SmsApi,
    audience: pl.DataFrame,
    options: SmsOptions,
    state: PhoneState,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> SmsReport:
    """Mirror `audience` (one row per phone, E.164 digits) into the phone list."""
    plan = plan_sms_audience(api, audience, options, state, log)
    return send_sms_plan(api, plan, state, log, sleep)
