"""The emulator's `/email/v1`: lists, profile field groups and fields, contacts and list
imports, kept in memory, with Listrak's envelopes, status codes and error codes.

Where Listrak documents behaviour (the Swagger files and observed traffic) this follows it;
where it doesn't, the emulator makes a choice and says so (`email_imports.py` for imports).
The state is in `email_state.py`, the list imports in `email_imports.py`.
"""

from __future__ import annotations

import itertools
import threading

from listrak_assets.sandbox.api import (
    ApiError,
    Json,
    Reply,
    Routes,
    error,
    invalid,
    not_found,
    now,
    paged,
    required,
)
from listrak_assets.sandbox.email_imports import ImportQueue, new_import
from listrak_assets.sandbox.email_state import (
    DATA_TYPES,
    EMAIL_PATTERN,
    SEGMENTATION_TYPES,
    Contact,
    EmailList,
    Field,
    Group,
    Import,
    apply_values,
)

MAX_FIELD_IDS = 30


def _bool(query: dict[str, str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(invalid(name))
    return raw == "true"


class EmailBackend:
    """State and route handlers of `/email/v1`; thread-safe behind one lock."""

    def __init__(self, import_delay: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.lists: dict[int, EmailList] = {}
        self.banned: set[str] = set()
        self._ids = {
            "list": itertools.count(300001),
            "group": itertools.count(1001),
            "field": itertools.count(5001),
            "import": itertools.count(70001),
        }
        self._imports = ImportQueue(self.lock, self.banned, import_delay)
        # Import status words as answered (Listrak documents none): e.g. {"Completed": "Done"}
        # tries a client on a word it doesn't know.
        self.status_words: dict[str, str] = {}

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

    def forget(self, email: str) -> int:
        """Remove the contact from every list (a Forget request completed); the lists it
        was on."""
        address = email.lower()
        removed = 0
        with self.lock:
            for item in self.lists.values():
                if item.contacts.pop(address, None) is not None:
                    item.order.remove(address)
                    removed += 1
        return removed

    def fail_import(self, after: int = 0) -> None:
        """Make the import that arrives after `after` further imports end `Failed`."""
        self._imports.fail_import(after)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every queued import has been processed."""
        return self._imports.wait_idle(timeout)

    def stop(self) -> None:
        self._imports.stop()

    # Routing --------------------------------------------------------------------------------

    _ROUTES = Routes(
        (("GET",), "lists", r"^/List$"),
        (("GET",), "list", r"^/List/(?P<list>[^/]+)$"),
        (("GET", "POST"), "groups", r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup$"),
        (
            ("GET",),
            "group",
            r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup/(?P<group>[^/]+)$",
        ),
        (
            ("GET", "POST"),
            "fields",
            r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup/(?P<group>[^/]+)/SegmentationField$",
        ),
        (
            ("GET",),
            "field",
            r"^/List/(?P<list>[^/]+)/SegmentationFieldGroup/(?P<group>[^/]+)"
            r"/SegmentationField/(?P<field>[^/]+)$",
        ),
        (("GET", "POST"), "contacts", r"^/List/(?P<list>[^/]+)/Contact$"),
        (("GET",), "contact", r"^/List/(?P<list>[^/]+)/Contact/(?P<contact>[^/]+)$"),
        (("GET", "POST"), "imports", r"^/List/(?P<list>[^/]+)/ListImport$"),
        (("GET",), "import", r"^/List/(?P<list>[^/]+)/ListImport/(?P<import>[^/]+)$"),
        (
            ("GET",),
            "import_part",
            r"^/List/(?P<list>[^/]+)/ListImport/(?P<import>[^/]+)"
            r"/(?P<part>Status|Summary|Contact)$",
        ),
    )

    def handle(self, method: str, path: str, query: dict[str, str], body: Json | None) -> Reply:
        """Answer one authenticated request to `path` (relative to `/email/v1`)."""
        return self._ROUTES.dispatch(self, self.lock, method, path, query, body)

    def _list(self, ids: dict[str, str]) -> EmailList:
        raw = ids["list"]
        if not raw.isdigit() or int(raw) not in self.lists:
            raise ApiError(not_found("listId"))
        return self.lists[int(raw)]

    def _group(self, item: EmailList, ids: dict[str, str]) -> Group:
        raw = ids["group"]
        if not raw.isdigit() or int(raw) not in item.groups:
            raise ApiError(not_found("listId and segmentationFieldGroupId"))
        return item.groups[int(raw)]

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
        body = required(body, "segmentationFieldGroupName", "position")
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
        body = required(body, "segmentationFieldName", "dataType", "maxLength", "position")
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
            return not_found("listId, segmentationFieldGroupId and segmentationFieldId")
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
            return not_found("listId and contactIdentifier")
        return 200, {"status": 200, "data": contact.json(item.fields, field_ids)}

    def _post_contacts(
        self, ids: dict[str, str], query: dict[str, str], body: Json | None
    ) -> Reply:
        """Create or update one contact, with the subscription rules Listrak was seen to
        apply: an unsubscribed contact is only resubscribed with `overrideUnsubscribe`."""
        item = self._list(ids)
        body = required(body, "emailAddress")
        if "newEmailAddress" in query:
            return invalid("newEmailAddress (changing an address is not emulated)")
        email = str(body["emailAddress"]).strip().lower()
        if not EMAIL_PATTERN.match(email):
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
        job = new_import(item, body, self._ids["import"])
        self._imports.submit(item, job)
        return 201, {"status": 201, "resourceId": str(job.import_id)}

    def _import(self, item: EmailList, ids: dict[str, str]) -> Import:
        raw = ids["import"]
        if not raw.isdigit() or int(raw) not in item.imports:
            raise ApiError(not_found("listId and importFileId"))
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
            status = self.status_words.get(job.status, job.status)
            data = {"startDate": job.start_date, "endDate": job.end_date, "status": status}
            return 200, {"status": 200, "data": data}
        if part == "Summary":
            return 200, {"status": 200, "data": dict(job.summary)}
        return paged(job.results, query, lambda r: {"emailAddress": r[0], "importResult": r[1]})
