"""Keeps a Listrak email list's membership field in step with the email audience.

One send: resolve the list (never created), find or create the profile field group and the
CheckBox membership field, match the other audience columns to profile fields, then import
the members whose row changed since the last finished send (`delta`; the whole audience on a
full send: every `full_send_days`, on reconciliation, or when the record can't tell) with the
field `on` and the leavers with it `off`. Nothing changed: no import at all. Nobody is ever
unsubscribed and no unsubscribe is ever overridden: imports add and update subscribers only,
and Listrak's imports leave unsubscribed contacts alone.

Everything that can fail without writing (list, columns, settings) is decided before the
first write; a dry run stops there, having sent nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from listrak_assets.listrak.delta import Delta, hash_scheme, plan_delta
from listrak_assets.listrak.email import (
    ADD_SUBSCRIBERS_AND_DATA,
    TEXT,
    UPDATE_SUBSCRIBERS,
    EmailApi,
    FieldGroup,
    FileMapping,
    ImportFile,
    require_checkbox,
)
from listrak_assets.listrak.errors import FieldConflict, ListrakConfigError, UnmatchedColumns
from listrak_assets.listrak.fields import (
    Policy,
    ProfileField,
    fields_by_name,
    match_fields,
    name_key,
    same_name,
)
from listrak_assets.listrak.membership import (
    EMAIL,
    MAX_FILE_BYTES,
    OFF,
    ON,
    MembershipPlan,
    chunks,
    email_sha256,
    import_rows,
    plan_membership,
)
from listrak_assets.listrak.state import MemberState
from listrak_assets.schemas.audiences import EMAIL_AUDIENCE

# Summary counts that mean some contacts of an import did not get their values.
FAILURE_COUNTS = (
    "bannedCount",
    "invalidEmailCount",
    "previouslyUnsubscribedCount",
    "skippedCount",
    "suppressedCount",
)
# Per-contact results that are not failures (Listrak doesn't document the words). Turning
# the field off for someone who isn't on the list has nothing to do, so it isn't one either.
# CheckBox values that mean "on" (Listrak takes on/true/1 in imports).
ON_VALUES = {"on", "true", "1"}
SUCCESS_RESULTS = {"subscribed", "updated", "alreadysubscribed", "success", "succeeded", "added"}
NOTHING_TO_TURN_OFF = {"notonlist"}
REJECT_COLUMNS = pl.Schema(
    {
        "email": pl.String(),
        "email_sha256": pl.String(),
        "import_file": pl.String(),
        "action": pl.String(),
        "result": pl.String(),
    }
)
_CUTTABLE = {"text", "commentarea"}


@dataclass(frozen=True)
class SendOptions:
    """What to send where; from the destination settings."""

    list_name: str
    field_group: str
    segment_name: str
    unmatched_columns: Policy = "warn"
    chunk_rows: int = 250_000
    max_file_bytes: int = MAX_FILE_BYTES
    dry_run: bool = False
    poll_interval: float = 5.0
    poll_timeout: float = 3600.0
    batch: str = "run"  # names this send's files, e.g. the run id
    reconcile: bool = False  # read who has the field `on` from Listrak, not from the state
    # Send the whole audience when the last full send is this many days old (0: every send).
    full_send_days: int = 0
    today: date | None = None  # the date full sends are counted by; None: today (UTC)

    @property
    def send_date(self) -> date:
        return self.today or datetime.now(UTC).date()


@dataclass
class ImportReport:
    """One import file: what it carried and what Listrak said about it."""

    file_name: str
    action: str  # on | off
    rows: int
    bytes: int
    import_id: str | None = None
    status: str | None = None
    summary: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "action": self.action,
            "rows": self.rows,
            "bytes": self.bytes,
            "import_id": self.import_id,
            "status": self.status,
            "summary": self.summary,
        }


@dataclass
class SendReport:
    """Everything a send did or, in a dry run, would do."""

    dry_run: bool
    list_id: int
    group: str
    group_id: int | None
    group_created: bool
    field_id: int | None
    field_created: bool
    mapped: dict[str, str]  # audience column -> profile field name
    fields_created: list[str]
    unmatched: list[str]  # audience columns left out (policy warn)
    values_cut: int
    added: int
    kept: int
    removed: int
    imports: list[ImportReport]
    rejects: pl.DataFrame
    would_create: list[str] = field(default_factory=list)  # dry run only
    previous: int = 0  # members before this send (who may have had the field `on`)
    previous_source: str = "state"
    send_mode: str = "full"  # `delta`, or why the whole audience went (`full: ...`)
    members_unchanged: int = 0  # members not sent: their row is as last confirmed sent

    @property
    def unchanged(self) -> bool:
        """Nothing to send: no member changed and nobody left."""
        return not self.imports

    @property
    def rows_sent(self) -> int:
        return sum(i.rows for i in self.imports)

    @property
    def import_bytes(self) -> int:
        return sum(i.bytes for i in self.imports)

    @property
    def summary(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for report in self.imports:
            for key, value in report.summary.items():
                total[key] = total.get(key, 0) + value
        return dict(sorted(total.items()))


def _max_length(column: str) -> int:
    spec = EMAIL_AUDIENCE
    if column in spec.column_names:
        return spec.col(column).max_len or spec.extra_max_len
    return spec.extra_max_len


@dataclass(frozen=True)
class _Fields:
    """The group and fields a send needs, as they are in Listrak (None: not there yet)."""

    group: FieldGroup | None
    membership: ProfileField | None
    mapped: dict[str, ProfileField | None]  # None: to be created
    unmatched: list[str]


@dataclass(frozen=True)
class EmailPlan:
    """A send as decided before its first write: the list, the fields, who joins and who
    leaves. Everything that can fail without writing has been checked by then."""

    options: SendOptions
    audience: pl.DataFrame  # `email` and the attribute columns with a value in some row
    list_id: int
    fields: _Fields
    membership: MembershipPlan
    # Where `previous` came from: state, first send, listrak: state missing or reconciliation.
    previous_source: str = "state"
    # Each member's row hash as last confirmed sent, and how they were made (None: no record).
    sent: tuple[pl.DataFrame | None, dict[str, Any]] = (None, {})

    @property
    def removed(self) -> int:
        return self.membership.leavers.len()


@dataclass(frozen=True)
class _Made:
    """The fields a send writes with: made in Listrak, or only planned in a dry run."""

    group: FieldGroup | None
    group_created: bool
    membership: ProfileField | None
    field_created: bool
    mapped: dict[str, ProfileField]  # audience column -> its (existing) field
    created: list[str]  # attribute fields created by this send
    would_create: list[str]  # dry run only


def _check(options: SendOptions, audience: pl.DataFrame) -> None:
    for key in ("list_name", "segment_name", "field_group"):
        if not getattr(options, key).strip():
            raise ListrakConfigError(
                f"`{key}` is empty in the settings; the email audience needs it (see README)"
            )
    if EMAIL not in audience.columns:
        raise ListrakConfigError("the email audience has no `email` column")
    if options.chunk_rows < 1:
        raise ListrakConfigError("`email.chunk_rows` must be at least 1")


def _with_values(audience: pl.DataFrame) -> pl.DataFrame:
    """The email and the columns with something to send: a column empty in every row has
    nothing (e.g. names the export didn't have)."""
    columns = [
        c for c in audience.columns if c != EMAIL and audience[c].null_count() < audience.height
    ]
    return audience.select(EMAIL, *columns)


def _resolve_fields(
    api: EmailApi, list_id: int, columns: list[str], options: SendOptions
) -> _Fields:
    """Read only: the group, the membership field and the column-to-field matches."""
    groups = [g for g in api.field_groups(list_id) if same_name(g.name, options.field_group)]
    group = min(groups, key=lambda g: g.group_id) if groups else None
    existing = api.fields(list_id, group.group_id) if group else []
    membership = fields_by_name(existing).get(name_key(options.segment_name))
    if membership is not None:
        require_checkbox(membership, options.field_group)
    clash = [c for c in columns if same_name(c, options.segment_name)]
    if clash:
        raise FieldConflict(
            f"audience column {clash[0]!r} has the membership field's name "
            f"({options.segment_name!r}); rename the column or `segment_name`"
        )
    match = match_fields(
        columns,
        existing,
        options.unmatched_columns,
        lambda unmatched: UnmatchedColumns(
            unmatched, options.field_group, [f.name for f in existing]
        ),
    )
    if options.unmatched_columns == "create":
        mapped = {c: match.mapped.get(c) for c in columns}
        return _Fields(group, membership, mapped, [])
    return _Fields(group, membership, dict(match.mapped), match.unmatched)


def plan_email_audience(
    api: EmailApi,
    audience: pl.DataFrame,
    options: SendOptions,
    state: MemberState,
    log: Callable[[str], None] = lambda _: None,
) -> EmailPlan:
    """Read only: check the settings, find the list and the fields, and measure the
    audience against who had the membership field `on` before."""
    _check(options, audience)
    audience = _with_values(audience)
    target = api.find_list(options.list_name)
    fields = _resolve_fields(api, target.list_id, audience.columns[1:], options)
    if fields.unmatched:
        log(
            f"audience columns without a profile field in {options.field_group!r} are left "
            f"out: {', '.join(fields.unmatched)} (set unmatched_columns: create to create them)"
        )
    previous, source = _previous(api, target.list_id, fields.membership, options, state, log)
    sent = (
        state.sent(target.list_id, fields.membership.field_id)
        if fields.membership is not None
        else (None, {})
    )
    return EmailPlan(
        options,
        audience,
        target.list_id,
        fields,
        plan_membership(audience[EMAIL], previous),
        source,
        sent,
    )


def members_in_listrak(api: EmailApi, list_id: int, field_id: int) -> pl.Series:
    """Who has the membership field `on` in Listrak now: the subscribed contacts of the list,
    paged with the field's value. Only this destination writes the field, so these are the
    contacts it put there."""
    on = [
        str(c.get("emailAddress") or "").strip().lower()
        for c in api.contacts(list_id, (field_id,))
        if any(
            int(v.get("segmentationFieldId") or 0) == field_id
            and str(v.get("value") or "").strip().casefold() in ON_VALUES
            for v in c.get("segmentationFieldValues") or []
        )
    ]
    return pl.Series(EMAIL, sorted(set(on)), dtype=pl.String)


def _previous(
    api: EmailApi,
    list_id: int,
    membership: ProfileField | None,
    options: SendOptions,
    state: MemberState,
    log: Callable[[str], None],
) -> tuple[pl.Series, str]:
    """Who may have the field `on` because of an earlier send, and where that came from.
    Without a record of the last finished send (state lost, or never written), or on a
    reconciliation run, Listrak itself is read: assuming "nobody" would leave every leaver
    `on`, silently."""
    if membership is None:
        # A field not made yet is `on` for nobody, whatever an old state file says.
        log("first send: the membership field does not exist yet, so nobody is turned off")
        return pl.Series(EMAIL, [], dtype=pl.String), "first send"
    field_id = membership.field_id
    for path in state.old_format():
        log(f"state file {path.name} is in the format before versions; the send rewrites it")
    pending = state.pending(list_id, field_id)
    if options.reconcile:
        source = "listrak: reconciliation"
    elif not state.has_members(list_id, field_id):
        source = "listrak: state missing"
    else:
        return state.previous(list_id, field_id), "state"
    found = members_in_listrak(api, list_id, field_id)
    log(
        f"previous members read from Listrak ({source}): {found.len()} contacts have "
        f"{options.segment_name!r} on"
    )
    return pl.concat([found, pending]).unique().sort(), source


def _as_planned(plan: EmailPlan) -> _Made:
    """A dry run's fields: what exists, and what a send would create."""
    fields, options = plan.fields, plan.options
    would_create = [
        *([f"field group {options.field_group!r}"] if fields.group is None else []),
        *([f"CheckBox field {options.segment_name!r}"] if fields.membership is None else []),
        *(f"Text field {c!r}" for c, f in fields.mapped.items() if f is None),
    ]
    mapped = {c: f for c, f in fields.mapped.items() if f is not None}
    return _Made(fields.group, False, fields.membership, False, mapped, [], would_create)


def _create_fields(api: EmailApi, plan: EmailPlan) -> _Made:
    """Write: the group, the membership field and the attribute fields that are missing."""
    fields, options, list_id = plan.fields, plan.options, plan.list_id
    group, group_created = fields.group, False
    if group is None:
        group, group_created = api.find_or_create_group(list_id, options.field_group)
    membership, field_created = fields.membership, False
    if membership is None:
        membership, field_created = api.membership_field(list_id, group, options.segment_name)
    mapped: dict[str, ProfileField] = {}
    created: list[str] = []
    for column, found in fields.mapped.items():
        made = False
        if found is None:
            found, made = api.find_or_create_field(
                list_id, group, column, TEXT, _max_length(column)
            )
        if found is not None:
            mapped[column] = found
        if made:
            created.append(column)
    return _Made(group, group_created, membership, field_created, mapped, created, [])


def _cut(frame: pl.DataFrame, fields: dict[str, ProfileField]) -> tuple[pl.DataFrame, int]:
    """Cut text longer than its field holds (Listrak would refuse the whole contact)."""
    cut = 0
    exprs = []
    for column, target in fields.items():
        limit = target.max_length or 0
        if target.data_type.casefold() in _CUTTABLE and limit > 0:
            too_long = frame[column].cast(pl.String).str.len_chars() > limit
            cut += int(too_long.sum())
            exprs.append(pl.col(column).cast(pl.String).str.slice(0, limit))
    return (frame.with_columns(exprs) if exprs else frame), cut


def _import_files(
    plan: EmailPlan, made: _Made, on_frame: pl.DataFrame
) -> list[tuple[ImportFile, ImportReport]]:
    """The `on` files (members, with their attributes) and the `off` files (leavers)."""
    options, flag = plan.options, plan.options.segment_name
    membership_id = made.membership.field_id if made.membership else 0
    files: list[tuple[ImportFile, ImportReport]] = []
    parts = [
        (ON, import_rows(on_frame, flag, ON), ADD_SUBSCRIBERS_AND_DATA),
        (OFF, import_rows(plan.membership.leavers.to_frame(), flag, OFF), UPDATE_SUBSCRIBERS),
    ]
    for action, rows, import_type in parts:
        attributes = made.mapped.values() if action == ON else ()
        mappings = (
            FileMapping(0, "Email"),
            *(
                FileMapping(i, "SegmentationField", f.field_id)
                for i, f in enumerate(attributes, start=1)
            ),
            FileMapping(rows.width - 1, "SegmentationField", membership_id),
        )
        for number, (part, content) in enumerate(
            chunks(rows, options.chunk_rows, options.max_file_bytes), start=1
        ):
            name = f"listrak-assets_email-audience_{options.batch}_{action}_{number:03d}.csv"
            file = ImportFile(name, content, mappings, import_type=import_type)
            files.append((file, ImportReport(name, action, part.height, len(content))))
    return files


def _delta(plan: EmailPlan, made: _Made, on_frame: pl.DataFrame) -> Delta:
    """Which members this send carries (see `listrak.delta`)."""
    if plan.options.dry_run:
        columns = {c: f.field_id if f else -1 for c, f in plan.fields.mapped.items()}
    else:
        columns = {c: f.field_id for c, f in made.mapped.items()}
    return plan_delta(
        on_frame,
        plan.sent,
        hash_scheme(columns),
        reconcile=plan.options.reconcile,
        full_send_days=plan.options.full_send_days,
        today=plan.options.send_date,
    )


def _report(plan: EmailPlan, made: _Made) -> tuple[SendReport, list[ImportFile], Delta]:
    """The files to send, the report of a send that has sent none of them yet, and which
    members it carries."""
    on_frame, values_cut = _cut(plan.audience.select(EMAIL, *made.mapped), made.mapped)
    if plan.options.dry_run:
        # Columns whose field doesn't exist yet would be sent too.
        on_frame = plan.audience.select(EMAIL, *plan.fields.mapped)
    delta = _delta(plan, made, on_frame)
    files = _import_files(plan, made, on_frame.filter(delta.send))
    report = SendReport(
        dry_run=plan.options.dry_run,
        list_id=plan.list_id,
        group=plan.options.field_group,
        group_id=made.group.group_id if made.group else None,
        group_created=made.group_created,
        field_id=made.membership.field_id if made.membership else None,
        field_created=made.field_created,
        mapped={c: f.name for c, f in made.mapped.items()},
        fields_created=made.created,
        unmatched=plan.fields.unmatched,
        values_cut=values_cut,
        added=plan.membership.added,
        kept=plan.membership.kept,
        removed=plan.removed,
        imports=[item for _, item in files],
        rejects=pl.DataFrame(schema=REJECT_COLUMNS),
        would_create=made.would_create,
        previous=plan.membership.kept + plan.removed,
        previous_source=plan.previous_source,
        send_mode=delta.mode,
        members_unchanged=delta.unchanged,
    )
    return report, [file for file, _ in files], delta


def _rejects(api: EmailApi, list_id: int, report: ImportReport) -> pl.DataFrame:
    """Per-contact failures of one import, fetched only when the summary shows some."""
    if not any(report.summary.get(k) for k in FAILURE_COUNTS) or report.import_id is None:
        return pl.DataFrame(schema=REJECT_COLUMNS)
    fine = SUCCESS_RESULTS | (NOTHING_TO_TURN_OFF if report.action == OFF else set())
    failed = [
        (str(c.get("emailAddress") or ""), str(c.get("importResult") or ""))
        for c in api.import_contacts(list_id, report.import_id)
        if str(c.get("importResult") or "").casefold() not in fine
    ]
    frame = pl.DataFrame(failed, schema={"email": pl.String, "result": pl.String}, orient="row")
    return frame.select(
        "email",
        email_sha256(frame["email"]).alias("email_sha256"),
        pl.lit(report.file_name).alias("import_file"),
        pl.lit(report.action).alias("action"),
        "result",
    ).cast(REJECT_COLUMNS)


def _run_import(
    api: EmailApi,
    list_id: int,
    file: ImportFile,
    item: ImportReport,
    options: SendOptions,
    log: Callable[[str], None],
    sleep: Callable[[float], None],
    warn: Callable[[str], None] | None,
) -> pl.DataFrame:
    """Write one file: start its import, wait for it, and read back what it refused."""
    item.import_id = api.start_import(list_id, file)
    log(f"list import {item.import_id} started: {item.file_name} ({item.rows} rows)")
    status = api.wait_for_import(
        list_id,
        item.import_id,
        item.file_name,
        interval=options.poll_interval,
        timeout=options.poll_timeout,
        sleep=sleep,
        warn=warn,
    )
    item.status = status.status
    item.summary = api.import_summary(list_id, item.import_id)
    return _rejects(api, list_id, item)


def send_email_plan(
    api: EmailApi,
    plan: EmailPlan,
    state: MemberState,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    *,
    warn: Callable[[str], None] | None = None,
) -> SendReport:
    """Carry out a plan: create the missing fields, import the files, record the members.
    A dry run only reports; `warn` hears what the imports' status words leave in doubt."""
    if plan.options.dry_run:
        return _report(plan, _as_planned(plan))[0]
    made = _create_fields(api, plan)
    report, files, delta = _report(plan, made)
    assert made.membership is not None
    field_id = made.membership.field_id
    # Before the first write: whoever this send may turn on, or change (their hash on
    # record no longer says what Listrak holds until the send finishes).
    state.record_pending(plan.list_id, field_id, keys=delta.hashes[EMAIL].filter(delta.send))
    rejects = [
        _run_import(api, plan.list_id, file, item, plan.options, log, sleep, warn)
        for file, item in zip(files, report.imports, strict=True)
    ]
    report.rejects = pl.concat([report.rejects, *rejects])
    # Every import is done: each member's row is recorded as sent. A contact an import
    # refused (unsubscribed before, banned, invalid) got Listrak's verdict and is in the
    # rejects; it goes again when its row changes or with the next full send.
    full_send = plan.options.send_date.isoformat() if delta.full else plan.sent[1].get("full_send")
    sent = {"scheme": delta.scheme, "full_send": full_send}
    state.commit(
        plan.list_id, field_id, members=plan.membership.current, hashes=delta.hashes, sent=sent
    )
    return report


def send_email_audience(
    api: EmailApi,
    audience: pl.DataFrame,
    options: SendOptions,
    state: MemberState,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Mirror `audience` (one row per email, attribute columns as text) into the list."""
    plan = plan_email_audience(api, audience, options, state, log)
    return send_email_plan(api, plan, state, log, sleep)
