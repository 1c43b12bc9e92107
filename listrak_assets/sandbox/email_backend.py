"""The emulator's Email API: lists, profile field groups and fields, contacts and list imports,
kept in memory, with Listrak's envelopes, status codes and error codes.

Where Listrak documents behaviour (the Swagger files and observed traffic) this follows it.
Where it doesn't, the emulator makes a choice and says so:

- Import status words: `Queued`, `Processing`, `Completed`, `Failed`.
- Per-contact import results: `Subscribed` (new contact), `Updated`, `PreviouslyUnsubscribed`
  (skipped: imports never resubscribe), `NotOnList` (UpdateSubscribers, unknown contact),
  `InvalidEmail`, `Banned`, `InvalidValue` (a value too long or not a CheckBox word).
- Profile data: `Update` sets the non-blank values of the file, `Append` fills only empty
  fields, `Overwrite` also clears fields left blank. CheckBox values are stored as `on`/`off`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
Reply = tuple[int, Json]

MAX_PAGE = 5000
DEFAULT_PAGE = 1000
MAX_FIELD_IDS = 30
IMPORT_TYPES = (
    "AddSubscribers",
    "AddSubscribersAndSegmentationData",
    "RemoveSubscribers",
    "UpdateSubscribers",
)
SEGMENTATION_TYPES = ("Update", "Append", "Overwrite")
DATA_TYPES = ("Text", "Numeric", "RadioButton", "CheckBox", "CommentArea", "Date", "ContentBlock")
COLUMN_TYPES = ("Email", "SegmentationField", "Event", "ExternalContactID")
SUMMARY_KEYS = (
    "alreadySubscribedCount",
    "alreadyUnsubscribedCount",
    "bannedCount",
    "invalidEmailCount",
    "previouslyUnsubscribedCount",
    "processedCount",
    "skippedCount",
    "subscribedCount",
    "suppressedCount",
    "unsubscribedCount",
)
_ON = {"on", "true", "1", "yes"}
_OFF = {"off", "false", "0", "no", ""}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def now() -> str:
    """Listrak's date style: ISO 8601 without a zone."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def error(status: int, code: str, message: str) -> Reply:
    return status, {"status": status, "error": code, "message": message}


def invalid(name: str) -> Reply:
    return error(400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")


class ApiError(Exception):
    """Raised inside a handler to answer with Listrak's error envelope."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


@dataclass
class Field:
    field_id: int
    group_id: int
    name: str
    data_type: str
    max_length: int
    position: int

    def json(self) -> Json:
        return {
            "segmentationFieldId": self.field_id,
            "segmentationFieldName": self.name,
            "segmentationFieldGroupId": self.group_id,
            "dataType": self.data_type,
            "maxLength": self.max_length,
            "position": self.position,
        }

    def coerce(self, value: str) -> str | None:
        """The value as stored, or None when the field can't hold it."""
        if self.data_type == "CheckBox":
            word = value.strip().lower()
            return "on" if word in _ON else "off" if word in _OFF else None
        return value if len(value) <= self.max_length else None


@dataclass
class Group:
    group_id: int
    name: str
    position: int

    def json(self) -> Json:
        return {
            "segmentationFieldGroupId": self.group_id,
            "segmentationFieldGroupName": self.name,
            "position": self.position,
        }


@dataclass
class Contact:
    email: str
    subscribed: bool
    values: dict[int, str] = field(default_factory=dict)
    subscribe_date: str | None = None
    resubscribe_date: str | None = None
    subscribe_method: str | None = None
    unsubscribe_date: str | None = None
    unsubscribe_method: str | None = None

    def json(self, fields: dict[int, Field], field_ids: list[int]) -> Json:
        return {
            "emailAddress": self.email,
            "emailKey": hashlib.sha1(self.email.encode()).hexdigest().upper()[:26],
            "universalEmailKey": hashlib.sha256(self.email.encode()).hexdigest(),
            "subscriptionState": "Subscribed" if self.subscribed else "Unsubscribed",
            "subscribeDate": self.subscribe_date,
            "resubscribeDate": self.resubscribe_date,
            "subscribeMethod": self.subscribe_method,
            "unsubscribeDate": self.unsubscribe_date,
            "unsubscribeMethod": self.unsubscribe_method,
            "externalContactID": None,
            "segmentationFieldValues": [
                {
                    "segmentationFieldGroupId": fields[f].group_id,
                    "segmentationFieldId": f,
                    "value": self.values.get(f, ""),
                }
                for f in field_ids
            ],
        }


@dataclass
class Import:
    import_id: int
    file_name: str
    date: str
    request: Json
    content: bytes
    status: str = "Queued"
    start_date: str | None = None
    end_date: str | None = None
    summary: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    results: list[tuple[str, str]] = field(default_factory=list)
    fail: bool = False


@dataclass
class EmailList:
    list_id: int
    name: str
    groups: dict[int, Group] = field(default_factory=dict)
    fields: dict[int, Field] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # contact emails in creation order (paging)
    imports: dict[int, Import] = field(default_factory=dict)

    def json(self) -> Json:
        return {
            "listId": self.list_id,
            "listName": self.name,
            "folderId": 0,
            "bounceHandling": "Standard",
            "bounceUnsubscribeCount": 5,
            "createDate": "2015-08-31T16:02:41.65",
            "enableDoubleOptIn": False,
            "fromEmail": "news@example.com",
            "fromName": "Listrak emulator",
        }

    def add_contact(self, contact: Contact) -> None:
        self.contacts[contact.email] = contact
        self.order.append(contact.email)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    if cursor == "Start":
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(invalid("cursor"))


def _page_size(query: dict[str, str]) -> int:
    raw = query.get("count", str(DEFAULT_PAGE))
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(invalid("count"))
    return min(int(raw), MAX_PAGE)


def _bool(query: dict[str, str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(invalid(name))
    return raw == "true"


def paged(items: list[Any], query: dict[str, str], render: Callable[[Any], Json]) -> Reply:
    start = _offset(query.get("cursor", "Start"))
    size = _page_size(query)
    chunk = items[start : start + size]
    following = start + size if start + size < len(items) else None
    return 200, {
        "status": 200,
        "nextPageCursor": _cursor(following) if following is not None else None,
        "data": [render(item) for item in chunk],
    }


class EmailBackend:
    """State and route handlers of `/email/v1`; thread-safe behind one lock."""

    def __init__(self, import_delay: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.lists: dict[int, EmailList] = {}
        self.banned: set[str] = set()
        self.import_delay = import_delay
        self._ids = {
            "list": itertools.count(300001),
            "group": itertools.count(1001),
            "field": itertools.count(5001),
            "import": itertools.count(70001),
        }
        self._fail_imports: list[int] = []  # countdowns: fail the import that reaches 0
        self._queue: list[tuple[EmailList, Import]] = []
        self._wake = threading.Condition(self.lock)
        self._stopped = False
        self._worker = threading.Thread(target=self._work, name="listrak-imports", daemon=True)
        self._worker.start()

    # Seeding and inspection (Python API for tests and the demo) ------------------------------

    def create_list(self, name: str) -> int:
        with self.lock:
            item = EmailList(next(self._ids["list"]), name)
            self.lists[item.list_id] = item
            return item.list_id

    def list_named(self, name: str) -> EmailList:
        with self.lock:
            return next(item for item in self.lists.values() if item.name == name)

    def seed_contact(
        self,
        list_name: str,
        email: str,
        *,
        subscribed: bool = True,
        values: dict[int, str] | None = None,
    ) -> None:
        """Put a contact on a list directly, e.g. one who unsubscribed long ago."""
        with self.lock:
            item = self.list_named(list_name)
            contact = Contact(email.lower(), subscribed, dict(values or {}), now(), None, "Import")
            if not subscribed:
                contact.unsubscribe_date, contact.unsubscribe_method = now(), "Contact"
            item.add_contact(contact)

    def field_values(self, list_name: str, group: str, name: str) -> dict[str, str]:
        """Every contact's value of one profile field (subscribed or not), by email."""
        with self.lock:
            item = self.list_named(list_name)
            [gid] = [g.group_id for g in item.groups.values() if g.name == group]
            [fid] = [
                f.field_id for f in item.fields.values() if f.group_id == gid and f.name == name
            ]
            return {c.email: c.values[fid] for c in item.contacts.values() if fid in c.values}

    def fail_import(self, after: int = 0) -> None:
        """Make the import that arrives after `after` further imports end `Failed`."""
        with self.lock:
            self._fail_imports.append(after)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every queued import has been processed."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self._queue and time.monotonic() < deadline:
                self._wake.wait(0.05)
            return not self._queue

    def stop(self) -> None:
        with self.lock:
            self._stopped = True
            self._wake.notify_all()
        self._worker.join(timeout=5)

    # Routing --------------------------------------------------------------------------------

    _ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
        (name, re.compile(pattern))
        for name, pattern in (
            ("lists", r"^/List$"),
            ("list", r"^/List/(?P<list>[^/]+)$"),
            ("groups", r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup$"),
            ("group", r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup/(?P<group>[^/]+)$"),
            (
                "fields",
                r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup/(?P<group>[^/]+)"
                r"/SegmentationField$",
            ),
            (
                "field",
                r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup/(?P<group>[^/]+)"
                r"/SegmentationField/(?P<field>[^/]+)$",
            ),
            ("contacts", r"^/List/(?P<list>[^/]+)/Contact$"),
            ("contact", r"^/List/(?P<list>[^/]+)/Contact/(?P<contact>[^/]+)$"),
            ("imports", r"^/List/(?P<list>[^/]+)/ListImport$"),
            ("import", r"^/List/(?P<list>[^/]+)/ListImport/(?P<import>[^/]+)$"),
            (
                "import_part",
                r"^/List/(?P<list>[^/]+)/ListImport/(?P<import>[^/]+)"
                r"/(?P<part>Status|Summary|Contact)$",
            ),
        )
    )
    _METHODS = {
        "lists": ("GET",),
        "list": ("GET",),
        "groups": ("GET", "POST"),
        "group": ("GET",),
        "fields": ("GET", "POST"),
        "field": ("GET",),
        "contacts": ("GET", "POST"),
        "contact": ("GET",),
        "imports": ("GET", "POST"),
        "import": ("GET",),
        "import_part": ("GET",),
    }

    def handle(self, method: str, path: str, query: dict[str, str], body: Json | None) -> Reply:
        """Answer one authenticated request to `path` (relative to `/email/v1`)."""
        for name, pattern in self._ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            if method not in self._METHODS[name]:
                return error(405, "ERROR_UNSUPPORTED_METHOD", f"{method} is not supported here.")
            try:
                with self.lock:
                    return getattr(self, f"_{method.lower()}_{name}")(
                        match.groupdict(), query, body
                    )
            except ApiError as err:
                return err.reply
        return error(404, "ERROR_UNKNOWN_ROUTE", "The requested route does not exist.")

    def _list(self, ids: dict[str, str]) -> EmailList:
        raw = ids["list"]
        if not raw.isdigit() or int(raw) not in self.lists:
            raise ApiError(
                error(
                    404,
                    "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                    "Unable to locate a resource associated with the listId supplied.",
                )
            )
        return self.lists[int(raw)]

    def _group(self, item: EmailList, ids: dict[str, str]) -> Group:
        raw = ids["group"]
        if not raw.isdigit() or int(raw) not in item.groups:
            raise ApiError(
                error(
                    404,
                    "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                    "Unable to locate a resource associated with the listId and "
                    "segmentationFieldGroupId supplied.",
                )
            )
        return item.groups[int(raw)]

    @staticmethod
    def _required(body: Json | None, *names: str) -> Json:
        if not isinstance(body, dict):
            raise ApiError(
                error(400, "ERROR_MALFORMED_REQUEST_BODY", "The request body is malformed.")
            )
        for name in names:
            if body.get(name) in (None, ""):
                raise ApiError(invalid(name))
        return body

    # Lists, groups, fields -----------------------------------------------------------------

    def _get_lists(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        return 200, {"status": 200, "data": [item.json() for item in self.lists.values()]}

    def _get_list(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        return 200, {"status": 200, "data": self._list(ids).json()}

    def _get_groups(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        return 200, {"status": 200, "data": [g.json() for g in item.groups.values()]}

    def _post_groups(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        body = self._required(body, "segmentationFieldGroupName", "position")
        name = str(body["segmentationFieldGroupName"])
        if any(g.name.casefold() == name.casefold() for g in item.groups.values()):
            return invalid("segmentationFieldGroupName")
        if not isinstance(body["position"], int):
            return invalid("position")
        group = Group(next(self._ids["group"]), name, body["position"])
        item.groups[group.group_id] = group
        return 201, {"status": 201, "resourceId": str(group.group_id)}

    def _get_group(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        return 200, {"status": 200, "data": self._group(self._list(ids), ids).json()}

    def _get_fields(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        group = self._group(item, ids)
        data = [f.json() for f in item.fields.values() if f.group_id == group.group_id]
        return 200, {"status": 200, "data": data}

    def _post_fields(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        group = self._group(item, ids)
        body = self._required(body, "segmentationFieldName", "dataType", "maxLength", "position")
        name = str(body["segmentationFieldName"])
        siblings = [f for f in item.fields.values() if f.group_id == group.group_id]
        if any(f.name.casefold() == name.casefold() for f in siblings):
            return invalid("segmentationFieldName")
        if body["dataType"] not in DATA_TYPES:
            return invalid("dataType")
        for key in ("maxLength", "position"):
            if not isinstance(body[key], int) or body[key] < 0:
                return invalid(key)
        new = Field(
            next(self._ids["field"]),
            group.group_id,
            name,
            body["dataType"],
            body["maxLength"],
            body["position"],
        )
        item.fields[new.field_id] = new
        return 201, {"status": 201, "resourceId": str(new.field_id)}

    def _get_field(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        group = self._group(item, ids)
        raw = ids["field"]
        found = item.fields.get(int(raw)) if raw.isdigit() else None
        if found is None or found.group_id != group.group_id:
            return error(
                404,
                "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                "Unable to locate a resource associated with the listId, "
                "segmentationFieldGroupId and segmentationFieldId supplied.",
            )
        return 200, {"status": 200, "data": found.json()}

    # Contacts -------------------------------------------------------------------------------

    def _field_ids(self, item: EmailList, query: dict[str, str]) -> list[int]:
        raw = query.get("segmentationFieldIds", "")
        if not raw:
            return []
        parts = raw.split(",")
        if len(parts) > MAX_FIELD_IDS:
            raise ApiError(
                error(
                    400,
                    "ERROR_TOO_MANY_SEGMENTATION_FIELDS",
                    f"No more than {MAX_FIELD_IDS} profile fields may be requested.",
                )
            )
        if not all(p.strip().isdigit() and int(p) in item.fields for p in parts):
            raise ApiError(invalid("segmentationFieldIds"))
        return [int(p) for p in parts]

    def _get_contacts(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        state = query.get("subscriptionState", "Subscribed")
        if state not in ("Subscribed", "Unsubscribed"):
            return invalid("subscriptionState")
        field_ids = self._field_ids(item, query)
        wanted = state == "Subscribed"
        emails = [e for e in item.order if item.contacts[e].subscribed is wanted]
        return paged(emails, query, lambda e: item.contacts[e].json(item.fields, field_ids))

    def _get_contact(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        field_ids = self._field_ids(item, query)
        contact = item.contacts.get(ids["contact"].lower())
        if contact is None:
            return error(
                404,
                "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                "Unable to locate a resource associated with the listId and "
                "contactIdentifier supplied.",
            )
        return 200, {"status": 200, "data": contact.json(item.fields, field_ids)}

    def _post_contacts(
        self, ids: dict[str, str], query: dict[str, str], body: Json | None
    ) -> Reply:
        """Create or update one contact, with the subscription rules Listrak was seen to
        apply: an unsubscribed contact is only resubscribed with `overrideUnsubscribe`."""
        item = self._list(ids)
        body = self._required(body, "emailAddress")
        if "newEmailAddress" in query:
            return invalid("newEmailAddress (changing an address is not emulated)")
        email = str(body["emailAddress"]).strip().lower()
        if not _EMAIL.match(email):
            return invalid("emailAddress")
        if email in self.banned:
            return error(400, "ERROR_BANNED_EMAIL_ADDRESS", "The email address is banned.")
        override = _bool(query, "overrideUnsubscribe")
        update_type = query.get("updateType", "Update")
        if update_type not in SEGMENTATION_TYPES:
            return invalid("updateType")
        state = body.get("subscriptionState")
        if state not in (None, "Subscribed", "Unsubscribed"):
            return invalid("subscriptionState")
        values = self._contact_values(item, body.get("segmentationFieldValues"))
        if state == "Unsubscribed" and values:
            return error(
                400,
                "ERROR_UNSUBSCRIBE_WITH_SEGMENTATION_DATA",
                "Profile field values cannot be supplied when unsubscribing a contact.",
            )
        if state == "Unsubscribed" and query.get("eventIds"):
            return error(
                400, "ERROR_UNSUBSCRIBE_WITH_EVENTS", "Events cannot be raised on unsubscribe."
            )
        contact = item.contacts.get(email)
        if contact is None:
            if state == "Unsubscribed":
                return error(
                    400,
                    "ERROR_NOT_SUBSCRIBED_EMAIL_ADDRESS",
                    "The email address is not subscribed to the list.",
                )
            item.add_contact(Contact(email, True, values, now(), None, "API"))
            return 201, {"status": 201, "resourceId": email}
        if state == "Unsubscribed":
            if not contact.subscribed:
                return error(
                    400,
                    "ERROR_NOT_SUBSCRIBED_EMAIL_ADDRESS",
                    "The email address is not subscribed to the list.",
                )
            contact.subscribed = False
            contact.unsubscribe_date, contact.unsubscribe_method = now(), "Administrator"
            return 200, {"status": 200, "resourceId": email}
        if not contact.subscribed:
            if not override:
                return error(
                    400,
                    "ERROR_UNSUBSCRIBED_EMAIL_ADDRESS",
                    f"The email address {email} has already been unsubscribed from the list.",
                )
            contact.subscribed = True
            contact.resubscribe_date, contact.unsubscribe_date = now(), None
            contact.unsubscribe_method = None
        apply_values(contact, values, update_type, list(values))
        return 200, {"status": 200, "resourceId": email}

    def _contact_values(self, item: EmailList, raw: object) -> dict[int, str]:
        if raw is None:
            return {}
        if not isinstance(raw, list):
            raise ApiError(invalid("segmentationFieldValues"))
        values: dict[int, str] = {}
        for entry in raw:
            if not isinstance(entry, dict) or not isinstance(entry.get("segmentationFieldId"), int):
                raise ApiError(invalid("segmentationFieldId"))
            fid = entry["segmentationFieldId"]
            if fid not in item.fields:
                raise ApiError(invalid("segmentationFieldId"))
            if fid in values:
                raise ApiError(
                    error(
                        400,
                        "ERROR_SEGMENTATION_FIELD_DEFINED_TWICE",
                        "A profile field was supplied more than once.",
                    )
                )
            stored = item.fields[fid].coerce(str(entry.get("value") or ""))
            if stored is None:
                raise ApiError(invalid("value"))
            values[fid] = stored
        return values

    # List imports ---------------------------------------------------------------------------

    def _get_imports(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        data = [
            {"importFileId": i.import_id, "importFileName": i.file_name, "importDate": i.date}
            for i in item.imports.values()
        ]
        return 200, {"status": 200, "data": data}

    def _post_imports(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        item = self._list(ids)
        body = self._required(
            body,
            "fileDelimiter",
            "fileMappings",
            "fileName",
            "fileStream",
            "importType",
            "segmentationImportType",
        )
        if body["importType"] not in IMPORT_TYPES:
            return invalid("importType")
        if body["segmentationImportType"] not in SEGMENTATION_TYPES:
            return invalid("segmentationImportType")
        if len(str(body["fileDelimiter"])) != 1:
            return invalid("fileDelimiter")
        if len(str(body.get("textQualifier") or "")) > 1:
            return invalid("textQualifier")
        try:
            content = base64.b64decode(str(body["fileStream"]), validate=True)
        except (binascii.Error, ValueError):
            return invalid("fileStream")
        mappings = body["fileMappings"]
        if not isinstance(mappings, list) or not mappings:
            return invalid("fileMappings")
        columns: set[int] = set()
        for mapping in mappings:
            if not isinstance(mapping, dict):
                return invalid("fileMappings")
            column, kind = mapping.get("fileColumn"), mapping.get("fileColumnType")
            if not isinstance(column, int) or column < 0 or column in columns:
                return invalid("fileColumn")
            if kind not in COLUMN_TYPES:
                return invalid("fileColumnType")
            if (
                kind == "SegmentationField"
                and mapping.get("segmentationFieldId") not in item.fields
            ):
                return invalid("segmentationFieldId")
            columns.add(column)
        if sum(m["fileColumnType"] == "Email" for m in mappings) != 1:
            return invalid("fileMappings (exactly one Email column)")
        job = Import(next(self._ids["import"]), str(body["fileName"]), now(), body, content)
        job.request = {k: v for k, v in body.items() if k != "fileStream"}
        for index, countdown in enumerate(self._fail_imports):
            if countdown == 0:
                job.fail = True
                del self._fail_imports[index]
                break
        self._fail_imports = [c - 1 for c in self._fail_imports]
        item.imports[job.import_id] = job
        self._queue.append((item, job))
        self._wake.notify_all()
        return 201, {"status": 201, "resourceId": str(job.import_id)}

    def _import(self, item: EmailList, ids: dict[str, str]) -> Import:
        raw = ids["import"]
        if not raw.isdigit() or int(raw) not in item.imports:
            raise ApiError(
                error(
                    404,
                    "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                    "Unable to locate a resource associated with the listId and importFileId "
                    "supplied.",
                )
            )
        return item.imports[int(raw)]

    def _get_import(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        job = self._import(self._list(ids), ids)
        return 200, {
            "status": 200,
            "data": {
                "importFileId": job.import_id,
                "importFileName": job.file_name,
                "importDate": job.date,
            },
        }

    def _get_import_part(
        self, ids: dict[str, str], query: dict[str, str], body: Json | None
    ) -> Reply:
        job = self._import(self._list(ids), ids)
        part = ids["part"]
        if part == "Status":
            data = {"startDate": job.start_date, "endDate": job.end_date, "status": job.status}
            return 200, {"status": 200, "data": data}
        if part == "Summary":
            return 200, {"status": 200, "data": dict(job.summary)}
        return paged(job.results, query, lambda r: {"emailAddress": r[0], "importResult": r[1]})

    # The import worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self._queue and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                item, job = self._queue[0]
                job.status, job.start_date = "Processing", now()
            if self.import_delay:
                time.sleep(self.import_delay)
            # Applied a slice at a time, so Status and other calls are answered meanwhile.
            steps = iter(()) if job.fail else apply_import(item, job, self.banned)
            status = "Failed" if job.fail else "Completed"
            while True:
                with self.lock:
                    try:
                        next(steps)
                    except StopIteration:
                        break
                    except ValueError:
                        status = "Failed"
                        break
            with self.lock:
                job.status = status
                job.end_date = now()
                job.content = b""  # done with it; imports can be large
                self._queue.pop(0)
                self._wake.notify_all()


def apply_values(contact: Contact, values: dict[int, str], mode: str, mapped: list[int]) -> None:
    """Profile values into a contact: Update sets non-blank values, Append fills empty fields
    only, Overwrite also clears the mapped fields left blank."""
    for fid in mapped:
        value = values.get(fid, "")
        if mode == "Append" and contact.values.get(fid):
            continue
        if value or mode == "Overwrite":
            contact.values[fid] = value


SLICE = 10_000  # rows applied per hold of the lock


def apply_import(item: EmailList, job: Import, banned: set[str]) -> Iterator[None]:
    """Parse the import file with its mappings and apply it to the list's contacts, pausing
    after every `SLICE` rows (a generator: the caller holds the lock for each step)."""
    request = job.request
    qualifier = str(request.get("textQualifier") or "")
    try:
        text = job.content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError("not UTF-8") from err
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=str(request["fileDelimiter"]),
        quotechar=qualifier or None,
        quoting=csv.QUOTE_MINIMAL if qualifier else csv.QUOTE_NONE,
        strict=True,
    )
    mappings = request["fileMappings"]
    email_col = next(m["fileColumn"] for m in mappings if m["fileColumnType"] == "Email")
    field_cols = [
        (m["fileColumn"], m["segmentationFieldId"], m.get("defaultValue"))
        for m in mappings
        if m["fileColumnType"] == "SegmentationField"
    ]
    kind = request["importType"]
    mode = request["segmentationImportType"]
    with_data = kind in ("AddSubscribersAndSegmentationData", "UpdateSubscribers")
    include_unsubscribed = bool(request.get("includeUnsubscribed")) and kind == "UpdateSubscribers"
    summary, results = job.summary, job.results
    rows = iter(reader)
    try:
        if request.get("hasColumnNames"):
            next(rows, None)
        for number, row in enumerate(rows, start=1):
            if number % SLICE == 0:
                yield
            summary["processedCount"] += 1
            email = row[email_col].strip().lower() if email_col < len(row) else ""
            if not _EMAIL.match(email):
                summary["invalidEmailCount"] += 1
                results.append((email, "InvalidEmail"))
                continue
            if email in banned:
                summary["bannedCount"] += 1
                results.append((email, "Banned"))
                continue
            values: dict[int, str] = {}
            bad = False
            for column, fid, default in field_cols if with_data else ():
                raw = row[column] if column < len(row) else ""
                stored = item.fields[fid].coerce(raw or (default or ""))
                if stored is None:
                    bad = True
                    break
                values[fid] = stored
            if bad:
                summary["skippedCount"] += 1
                results.append((email, "InvalidValue"))
                continue
            result = _apply_row(item, email, values, kind, mode, include_unsubscribed, summary)
            results.append((email, result))
    except csv.Error as err:
        raise ValueError(f"malformed file: {err}") from err


def _apply_row(
    item: EmailList,
    email: str,
    values: dict[int, str],
    kind: str,
    mode: str,
    include_unsubscribed: bool,
    summary: dict[str, int],
) -> str:
    contact = item.contacts.get(email)
    mapped = list(values)
    if kind == "RemoveSubscribers":
        if contact is None or not contact.subscribed:
            summary["alreadyUnsubscribedCount"] += 1
            return "AlreadyUnsubscribed"
        contact.subscribed = False
        contact.unsubscribe_date, contact.unsubscribe_method = now(), "Import"
        summary["unsubscribedCount"] += 1
        return "Unsubscribed"
    if contact is None:
        if kind == "UpdateSubscribers":
            summary["skippedCount"] += 1
            return "NotOnList"
        new = Contact(email, True, {}, now(), None, "Import")
        apply_values(new, values, mode, mapped)
        item.add_contact(new)
        summary["subscribedCount"] += 1
        return "Subscribed"
    if not contact.subscribed:
        if include_unsubscribed:
            apply_values(contact, values, mode, mapped)
            return "Updated"
        # Imports never resubscribe: the contact and its profile are left as they are.
        summary["previouslyUnsubscribedCount"] += 1
        return "PreviouslyUnsubscribed"
    if kind != "UpdateSubscribers":
        summary["alreadySubscribedCount"] += 1
    apply_values(contact, values, mode, mapped)
    return "Updated"
