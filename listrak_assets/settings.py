"""Destination settings from `listrak.yaml` (path overridable with LISTRAK_CONFIG).

Only non-secret settings live in the file; credentials and endpoints come from environment
variables. A bad file fails with a message that names the setting.

Each value is checked against the rule that owns it, taken from the neutral `formats` and
`file_names` modules and the table specs; the packages that act on the settings (cleaning,
files, SFTP, Listrak's APIs) are not imported here: they sit above the settings, not below.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Literal

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)
from upath import UPath

from listrak_assets.file_names import (
    DEFAULT_TEMPLATES,
    Compression,
    check_distinct,
    check_template,
)
from listrak_assets.formats import (
    DateOrder,
    DecimalSeparator,
    InvalidOptional,
    PhoneValidation,
    TwoDigitYears,
    check_fingerprint,
)
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.spec import DEFAULT_RANGES, DateRange, Span
from listrak_assets.storage import location, resolve, scheme, text

CONFIG_ENV = "LISTRAK_CONFIG"
DEFAULT_CONFIG = "listrak.yaml"


def check_zone(value: str) -> str:
    """An IANA time zone name, or ValueError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}' (use an IANA name)") from None
    return value


class SettingsError(ValueError):
    """listrak.yaml is missing, unreadable or has a bad value."""


class _Strict(BaseModel):
    # An unknown key is almost always a typo: refuse it rather than ignore it.
    model_config = ConfigDict(extra="forbid", frozen=True)


# Keys that older settings files have and that nothing reads any more: each is refused with
# why it does nothing, rather than accepted and silently ignored.
RETIRED = {
    "audience_primary_key": "one settings file configures both audiences, and each has its "
    "own key (the email audience its email address, the SMS audience its phone number)",
    "admin_only": "open-source Dagster has no user roles: who may open the UI is decided where "
    "it is served (see the README's 'Who can see what')",
}


def _refuse_retired(data: object) -> object:
    if isinstance(data, dict):
        for key in RETIRED.keys() & data.keys():
            raise ValueError(
                f"'{key}' does nothing and is no longer read: {RETIRED[key]}. Remove it"
            )
    return data


class BusinessUserAccess(_Strict):
    """What business users may see: with `allow_limited_pii` false, personal values are masked
    in rejects, previews, run metadata and logs."""

    allow_limited_pii: bool = False

    @model_validator(mode="before")
    @classmethod
    def _no_retired_keys(cls, data: object) -> object:
        return _refuse_retired(data)


class Freshness(_Strict):
    """How old the newest data may be before the freshness checks warn (hours; null: no check).
    Read when the definitions load."""

    # The newest export of a table in the inbox: no new file for this long is worth a look.
    inputs_max_age_hours: float | None = Field(26.0, gt=0)
    # The last successful send of each sink.
    sinks_max_age_hours: float | None = Field(26.0, gt=0)


class RemovalLimits(_Strict):
    """How much of an audience one send may remove before the removal guard refuses it
    (shares of the previous send's members). A share of 1 lifts that limit."""

    max_shrink_share: float = Field(0.20, ge=0, le=1)
    max_leaver_share: float = Field(0.50, ge=0, le=1)
    max_leavers: int | None = Field(None, ge=0)


class EmailSink(_Strict):
    """How the email audience is sent: import file size, dry run, import polling, the
    removal guard; `enabled` is read when the definitions load."""

    enabled: bool = True
    chunk_rows: int = Field(250_000, ge=1)
    dry_run: bool = False
    # Every send reads who has the membership field `on` from Listrak instead of the state.
    reconcile: bool = False
    # A send carries only the members whose row changed since the last finished send; every
    # this many days (and on reconciliation) it carries the whole audience. 0: always whole.
    full_send_days: int = Field(7, ge=0)
    poll_interval_seconds: float = Field(5.0, gt=0)
    poll_timeout_seconds: float = Field(3600.0, gt=0)
    # A run fails when Listrak's imports did not update more contacts than this (banned,
    # invalid, suppressed, unsubscribed before; None: any number is fine). A write that did not
    # land at all always fails the run: an import file is one write, never left half sent.
    max_rejected_contacts: int | None = Field(None, ge=0)
    guard: RemovalLimits = RemovalLimits()


class SmsSink(_Strict):
    """Where and how the SMS audience is synced: sender code and phone list (each an id or a
    name; never created), dry run, how many per-number calls run at once, the removal guard;
    `enabled` is read when the definitions load."""

    enabled: bool = True
    sender_code: str = "12345"
    phone_list: str = "SMS Audience"
    dry_run: bool = False
    # owned: unsubscribe only numbers this sink subscribed; whole_list: the list is ours alone.
    mirror: Literal["owned", "whole_list"] = "owned"
    concurrency: int = Field(8, ge=1, le=64)
    # A run fails when more writes than this did not land (no answer, 5xx, looked up after).
    max_failed_writes: int = Field(0, ge=0)
    # ... or when Listrak refused more numbers than this (None: any number is fine).
    max_rejected_numbers: int | None = Field(None, ge=0)
    poll_interval_seconds: float = Field(5.0, gt=0)
    poll_timeout_seconds: float = Field(3600.0, gt=0)
    guard: RemovalLimits = RemovalLimits()

    @field_validator("sender_code", "phone_list", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class SftpFileNames(_Strict):
    """Per file, the name Listrak imports it by; `{date}` is the run's date as YYYYMMDD."""

    customers: str = DEFAULT_TEMPLATES["customers"]
    products: str = DEFAULT_TEMPLATES["products"]
    orders: str = DEFAULT_TEMPLATES["orders"]
    order_items: str = DEFAULT_TEMPLATES["order_items"]

    @field_validator("*")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_template(value)

    @model_validator(mode="after")
    def _distinct(self) -> SftpFileNames:
        check_distinct(self.model_dump())
        return self


class SftpSink(_Strict):
    """How the customer, product, order and order item files are written and uploaded;
    `enabled` is read when the definitions load."""

    enabled: bool = True
    remote_folder: str = Field("/", min_length=1)
    compression: Compression = "none"
    split_rows: int = Field(0, ge=0)  # 0: one file per table
    done_marker: bool = False
    # `'` before text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`): protects
    # whoever opens the files in a spreadsheet, but Listrak stores the text with the `'`.
    formula_guard: bool = Field(False, strict=True)
    file_names: SftpFileNames = SftpFileNames()
    host_key_fingerprint: str | None = None

    @field_validator("host_key_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        return None if value is None else check_fingerprint(value)


class NightlySchedule(_Strict):
    """The nightly run of the `publish_all` job at `time` (HH:MM) in `timezone`; read when the
    definitions load."""

    enabled: bool = False
    time: str = "02:00"
    timezone: str = "UTC"

    @field_validator("time", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 02:00 as the base-60 number 120.
            value = f"{value // 60:02d}:{value % 60:02d}"
        if isinstance(value, str):
            hours, _, minutes = value.partition(":")
            if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2) or not (
                0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59
            ):
                raise ValueError(f"'{value}' is not a time of day as HH:MM (e.g. \"02:30\")")
            return f"{int(hours):02d}:{minutes}"
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @property
    def cron(self) -> str:
        """The cron expression of `time`: every day at that minute."""
        hours, minutes = self.time.split(":")
        return f"{int(minutes)} {int(hours)} * * *"


class Window(_Strict):
    """Plausible dates of one kind: from `earliest` to `days_ahead` days after the run's date."""

    earliest: dt.date
    days_ahead: int = Field(ge=0)

    def as_range(self) -> DateRange:
        return DateRange(self.earliest, self.days_ahead)


def _window(span: Span) -> Window:
    default = DEFAULT_RANGES[span]
    return Window(earliest=default.earliest, days_ahead=default.days_ahead)


class Dates(_Strict):
    """How dates are read and which are plausible (a value outside its window is rejected)."""

    two_digit_years: TwoDigitYears = "pivot"
    # A two-digit year is the latest year ending in those digits up to this one (null: the
    # run's year, so `24` is 2024 and `27` is 1927 in 2026).
    pivot_year: int | None = Field(None, ge=100, le=9999)
    birthdays: Window = _window(Span.BIRTHDAYS)
    events: Window = _window(Span.EVENTS)  # order, ship and update times
    schedules: Window = _window(Span.SCHEDULES)  # product sale start and end

    def ranges(self) -> dict[Span, DateRange]:
        return {span: getattr(self, span.value).as_range() for span in Span}


def _place(value: object) -> Path | UPath:
    """A folder, or a URL of a filesystem fsspec knows (`storage.py`); refused with why
    otherwise."""
    if isinstance(value, Path | UPath):
        return value
    if isinstance(value, str):
        return location(value)
    raise ValueError("expected a folder or a URL")


# A folder or a URL, written back as the text it was read from (the whole URL).
Place = Annotated[Path | UPath, PlainValidator(_place), PlainSerializer(text, return_type=str)]


def _local_only(key: str, why: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if isinstance(value, str) and scheme(value) is not None:
            raise ValueError(f"'{key}' must be a local folder, not a URL: {why}")
        return value

    return check


class Erasure(_Strict):
    """Where erasure keeps its ledger (salted hashes only; a file or a URL). The archive it
    also scrubs is the top-level `archive` (a folder or a URL)."""

    ledger: Place = Path("data/erasure/ledger.json")


class Retention(_Strict):
    """How long local copies of personal data live."""

    rejects_raw_days: int = Field(30, ge=0)  # then a reject's value is masked
    archive_days: int = Field(30, ge=0)  # then an archived input file is deleted


class Execution(_Strict):
    """How a run executes its steps; read when the definitions load. One process per run by
    default: polars already uses every core. `multiprocess` runs steps in processes of their
    own (needed on a shared instance such as Postgres with several machines' runs, or to overlap
    the SFTP files with the audiences); `max_concurrent` bounds how many at once, so that the
    tables held in memory fit the machine."""

    executor: Literal["in_process", "multiprocess"] = "in_process"
    max_concurrent: int = Field(2, ge=1)


class Settings(_Strict):
    """What a user fills in for the destination (see the README for each key)."""

    # Shown in the UI with the sinks; read when the definitions load.
    name: str = "Listrak"
    description: str = ""
    # Owners of every asset in the UI (emails or team:NAME); read when the definitions load.
    owners: list[str] = ["team:data"]
    freshness: Freshness = Freshness()
    list_name: str = ""
    field_group: str = "Amperity Message Attributes"
    segment_name: str = ""
    business_user_access: BusinessUserAccess = BusinessUserAccess()
    unmatched_columns: Literal["fail", "warn", "create"] = "warn"
    email: EmailSink = EmailSink()
    sms: SmsSink = SmsSink()
    sftp: SftpSink = SftpSink()
    default_phone_country: str = "US"
    phone_validation: PhoneValidation = "valid"
    date_order: DateOrder = "MDY"
    dates: Dates = Dates()
    source_timezone: str = "UTC"
    decimal_separator: DecimalSeparator = "."
    invalid_optional: InvalidOptional = "blank"
    inbox: Annotated[
        Path,
        BeforeValidator(_local_only("inbox", "the inbox sensor watches a folder of this machine")),
    ] = Path("data/inbox")
    # A folder, or a URL that several machines share (README, "Shared storage").
    warehouse: Place = Path("data/warehouse")
    # Shorter than the inbox sensor's 30 s interval: a file that lands up to 20 s before a
    # tick is read at that tick, not the one after.
    inbox_settle_seconds: float = Field(10.0, ge=0)
    # true: consumed files move to `archive`/<date>/ after a successful run (see the README).
    inbox_archive: bool = False
    # true: orders and order items are kept by export day, one Listrak file per day (defs/days.py).
    orders_by_day: bool = False
    # A folder, or a URL: consumed files are copied there, checked, then removed from the inbox.
    archive: Place = Path("data/archive")
    schedule: NightlySchedule = NightlySchedule()
    encoding: str = "utf-8"
    delimiter: str = Field(",", min_length=1, max_length=1)
    updated_at_column: str = "updated_at"
    columns: dict[str, dict[str, str]] = {}
    erasure: Erasure = Erasure()
    retention: Retention = Retention()
    execution: Execution = Execution()

    @model_validator(mode="before")
    @classmethod
    def _no_retired_keys(cls, data: object) -> object:
        return _refuse_retired(data)

    @property
    def restrict_pii(self) -> bool:
        """PII is shown only where business users are allowed limited PII access."""
        return not self.business_user_access.allow_limited_pii

    @field_validator("default_phone_country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"unknown country '{value}'; use an ISO 3166-1 alpha-2 code that "
                "libphonenumber knows (e.g. US, GB, DE, AU)"
            )
        return value

    @field_validator("source_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("columns")
    @classmethod
    def _known_tables(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for table, mapping in value.items():
            if table not in TABLES:
                raise ValueError(f"unknown table '{table}'; use one of {', '.join(TABLES)}")
            spec = TABLES[table]
            for source, target in mapping.items():
                if target not in spec.column_names and not spec.keep_extra_columns:
                    raise ValueError(
                        f"'{source}' maps to '{target}', which is not a column of {table} "
                        f"({', '.join(spec.column_names)})"
                    )
        return value


# libyaml's parser where PyYAML was built with it (the wheels are): the same safe loading, a
# tenth of the time, and every process that loads the definitions (code servers, each run's
# worker) reads this file.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: Path | None = None) -> Settings:
    """Read and check the settings file; relative folders resolve against its directory."""
    path = path or config_path()
    if not path.is_file():
        raise SettingsError(
            f"settings file {path} not found; create it (see README) or point {CONFIG_ENV} at it"
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
    except yaml.YAMLError as err:
        raise SettingsError(f"{path}: not valid YAML: {err}") from None
    return settings_from_mapping(data, path.resolve().parent, str(path))


# What only the inbox mode reads: its folder, sensor, archive, schedule, retention, executor
# and CSV dialect. Settings given inline serve a destination fed by upstream assets (the inbox
# mode reads a file), where these would do nothing.
INBOX_ONLY = {
    "inbox": "the folder the inbox mode reads",
    "inbox_settle_seconds": "how long the inbox sensor waits for a file to settle",
    "inbox_archive": "whether the inbox mode archives consumed files",
    "orders_by_day": "whether the inbox mode keeps orders and order items by export day",
    "archive": "where the inbox mode archives consumed files",
    "schedule": "the inbox mode's nightly schedule",
    "retention": "retention, which dates rejects by their input file's arrival",
    "execution": "the inbox mode's executor (the host project chooses its own)",
    "encoding": "how input files are read",
    "delimiter": "how input files are read",
}


def refuse_inbox_only(data: Mapping[str, object], origin: str) -> None:
    """Inline settings that only the inbox mode reads are refused, saying why: all of them in
    one message, so that fixing them takes one round."""
    keys = sorted(INBOX_ONLY.keys() & data.keys())
    if not keys:
        return
    if len(keys) == 1:
        raise SettingsError(
            f"{origin}: '{keys[0]}' does nothing for a destination fed by upstream assets: it "
            f"sets {INBOX_ONLY[keys[0]]}. Remove it"
        )
    names = ", ".join(f"'{key}'" for key in keys)
    why = "; ".join(f"'{key}' sets {INBOX_ONLY[key]}" for key in keys)
    raise SettingsError(
        f"{origin}: {names} do nothing for a destination fed by upstream assets ({why}). "
        "Remove them"
    )


def inline_settings(data: Mapping[str, object], base: Path, origin: str) -> Settings:
    """Settings written inline (a component's `settings:`, a mapping given to the factory):
    checked as a file's are, and refused where they name what only the inbox mode reads."""
    refuse_inbox_only(data, origin)
    return settings_from_mapping(dict(data), base, origin)


def settings_from_mapping(data: object, base: Path, origin: str) -> Settings:
    """Check settings given as a mapping (a parsed listrak.yaml, or the `settings:` written
    inline in a component's YAML) exactly as a file's are; relative folders resolve against
    `base`, and `origin` names where the mapping came from in messages."""
    if not isinstance(data, dict):
        raise SettingsError(f"{origin}: expected a mapping of settings at the top level")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"'{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in err.errors()
        )
        raise SettingsError(f"{origin}: bad setting {problems}") from None
    base = base.resolve()
    erasure = settings.erasure.model_copy(update={"ledger": resolve(settings.erasure.ledger, base)})
    return settings.model_copy(
        update={
            "inbox": base / settings.inbox,
            "warehouse": resolve(settings.warehouse, base),
            "archive": resolve(settings.archive, base),
            "erasure": erasure,
        }
    )
