"""Keeps a Listrak email list's membership field in step with the email audience.

One send: resolve the list (never created), find or create the profile field group and the
CheckBox membership field, match the other audience columns to profile fields, then import
the whole audience with the field `on` and the leavers with it `off`. Nobody is ever
unsubscribed and no unsubscribe is ever overridden: imports add and update subscribers only,
and Listrak's imports leave unsubscribed contacts alone.

Everything that can fail without writing (list, columns, settings) is decided before the
first write; a dry run stops there, having sent nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from listrak_assets.listrak.email import (
    ADD_SUBSCRIBERS_AND_DATA,
    TEXT,
    UPDATE_SUBSCRIBERS,
    EmailApi,
    FieldGroup,
    FileMapping,
    ImportFile,
    ProfileField,
    same_name,
)
from listrak_assets.listrak.errors import FieldConflict, ListrakConfigError, UnmatchedColumns
from listrak_assets.listrak.membership import (
    EMAIL,
    MAX_FILE_BYTES,
    OFF,
    ON,
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
SUCCESS_RESULTS = {"subscribed", "updated", "alreadysubscribed", "success", "succeeded", "added"}
NOTHING_TO_TURN_OFF = {"notonlist"}
REJECT_COLUMNS: dict[str, pl.DataType] = {
    "email": pl.String(),
    "email_sha256": pl.String(),
    "import_file": pl.String(),
    "action": pl.String(),
    "result": pl.String(),
}
_CUTTABLE = {"text", "commentarea"}

Policy = Literal["fail", "warn", "create"]


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


@dataclass
class _Fields:
    group: FieldGroup | None
    membership: ProfileField | None
    mapped: dict[str, ProfileField | None]  # None: to be created
    unmatched: list[str]


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


def _resolve_fields(
    api: EmailApi, list_id: int, columns: list[str], options: SendOptions
) -> _Fields:
    """Read only: the group, the membership field and the column-to-field matches."""
    groups = [g for g in api.field_groups(list_id) if same_name(g.name, options.field_group)]
    group = min(groups, key=lambda g: g.group_id) if groups else None
    existing = api.fields(list_id, group.group_id) if group else []
    # Newest first, so that among fields whose names differ only in case the oldest wins.
    by_name = {f.name.strip().casefold(): f for f in sorted(existing, key=lambda f: -f.field_id)}
    membership = by_name.get(options.segment_name.strip().casefold())
    if membership is not None and membership.data_type.casefold() != "checkbox":
        raise FieldConflict(
            f"profile field {membership.name!r} in group {options.field_group!r} is a "
            f"{membership.data_type} field, not a CheckBox: rename `segment_name` or change "
            "the field in Listrak"
        )
    clash = [c for c in columns if same_name(c, options.segment_name)]
    if clash:
        raise FieldConflict(
            f"audience column {clash[0]!r} has the membership field's name "
            f"({options.segment_name!r}); rename the column or `segment_name`"
        )
    mapped: dict[str, ProfileField | None] = {}
    unmatched: list[str] = []
    for column in columns:
        found = by_name.get(column.strip().casefold())
        if found is not None:
            mapped[column] = found
        elif options.unmatched_columns == "create":
            mapped[column] = None
        else:
            unmatched.append(column)
    if unmatched and options.unmatched_columns == "fail":
        raise UnmatchedColumns(unmatched, options.field_group, [f.name for f in existing])
    return _Fields(group, membership, mapped, unmatched)


def _cut(frame: pl.DataFrame, fields: dict[str, ProfileField]) -> tuple[pl.DataFrame, int]:
    """Cut text longer than its field holds (Listrak would refuse the whole contact)."""
    cut = 0
    exprs = []
    for column, target in fields.items():
        if target.data_type.casefold() in _CUTTABLE and target.max_length > 0:
            too_long = frame[column].cast(pl.String).str.len_chars() > target.max_length
            cut += int(too_long.sum())
            exprs.append(pl.col(column).cast(pl.String).str.slice(0, target.max_length))
    return (frame.with_columns(exprs) if exprs else frame), cut


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


def send_email_audience(
    api: EmailApi,
    audience: pl.DataFrame,
    options: SendOptions,
    state: MemberState,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Mirror `audience` (one row per email, attribute columns as text) into the list."""
    _check(options, audience)
    # A column empty in every row has nothing to send (e.g. names the export didn't have).
    columns = [
        c for c in audience.columns if c != EMAIL and audience[c].null_count() < audience.height
    ]
    audience = audience.select(EMAIL, *columns)
    target = api.find_list(options.list_name)
    fields = _resolve_fields(api, target.list_id, columns, options)
    if fields.unmatched:
        log(
            f"audience columns without a profile field in {options.field_group!r} are left "
            f"out: {', '.join(fields.unmatched)} (set unmatched_columns: create to create them)"
        )

    # Writes start here: the group, the membership field, attribute fields.
    would_create: list[str] = []
    group, group_created = fields.group, False
    membership, field_created = fields.membership, False
    created: list[str] = []
    if options.dry_run:
        if group is None:
            would_create.append(f"field group {options.field_group!r}")
        if membership is None:
            would_create.append(f"CheckBox field {options.segment_name!r}")
        would_create += [f"Text field {c!r}" for c, f in fields.mapped.items() if f is None]
    else:
        if group is None:
            group, group_created = api.find_or_create_group(target.list_id, options.field_group)
        if membership is None:
            membership, field_created = api.membership_field(
                target.list_id, group, options.segment_name
            )
        for column, found in list(fields.mapped.items()):
            if found is None:
                fields.mapped[column], made = api.find_or_create_field(
                    target.list_id, group, column, TEXT, _max_length(column)
                )
                if made:
                    created.append(column)
    mapped = {c: f for c, f in fields.mapped.items() if f is not None}

    # A field made just now is `on` for nobody, whatever an old state file says.
    if membership is None or field_created:
        previous = pl.Series(EMAIL, [], dtype=pl.String)
    else:
        previous = state.previous(target.list_id, membership.field_id)
    plan = plan_membership(audience[EMAIL], previous)

    on_frame, values_cut = _cut(audience.select(EMAIL, *mapped), mapped)
    if options.dry_run:
        # Columns whose field doesn't exist yet would be sent too.
        on_frame = audience.select(EMAIL, *fields.mapped)
    flag = options.segment_name
    membership_id = membership.field_id if membership else 0
    files: list[ImportFile] = []
    reports: list[ImportReport] = []
    parts = [
        (ON, import_rows(on_frame, flag, ON), ADD_SUBSCRIBERS_AND_DATA),
        (OFF, import_rows(plan.leavers.to_frame(), flag, OFF), UPDATE_SUBSCRIBERS),
    ]
    for action, rows, import_type in parts:
        mappings = (
            FileMapping(0, "Email"),
            *(
                FileMapping(i, "SegmentationField", f.field_id)
                for i, f in enumerate(mapped.values(), start=1)
                if action == ON
            ),
            FileMapping(rows.width - 1, "SegmentationField", membership_id),
        )
        for number, (part, content) in enumerate(
            chunks(rows, options.chunk_rows, options.max_file_bytes), start=1
        ):
            name = f"listrak-assets_email-audience_{options.batch}_{action}_{number:03d}.csv"
            files.append(ImportFile(name, content, mappings, import_type=import_type))
            reports.append(ImportReport(name, action, part.height, len(content)))

    rejects = [pl.DataFrame(schema=REJECT_COLUMNS)]
    report = SendReport(
        dry_run=options.dry_run,
        list_id=target.list_id,
        group=options.field_group,
        group_id=group.group_id if group else None,
        group_created=group_created,
        field_id=membership.field_id if membership else None,
        field_created=field_created,
        mapped={c: f.name for c, f in mapped.items()},
        fields_created=created,
        unmatched=fields.unmatched,
        values_cut=values_cut,
        added=plan.added,
        kept=plan.kept,
        removed=plan.leavers.len(),
        imports=reports,
        rejects=rejects[0],
        would_create=would_create,
    )
    if options.dry_run:
        return report

    assert membership is not None
    state.record_pending(target.list_id, membership.field_id, plan.current)
    for file, item in zip(files, reports, strict=True):
        item.import_id = api.start_import(target.list_id, file)
        log(f"list import {item.import_id} started: {item.file_name} ({item.rows} rows)")
        status = api.wait_for_import(
            target.list_id,
            item.import_id,
            item.file_name,
            interval=options.poll_interval,
            timeout=options.poll_timeout,
            sleep=sleep,
        )
        item.status = status.status
        item.summary = api.import_summary(target.list_id, item.import_id)
        rejects.append(_rejects(api, target.list_id, item))
    state.commit(target.list_id, membership.field_id, plan.current)
    report.rejects = pl.concat(rejects)
    return report
