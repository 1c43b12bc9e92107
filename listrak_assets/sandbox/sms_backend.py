"""The emulator's `/sms/v1`: sender codes, phone lists, read-only profile fields, contacts,
list subscriptions and the contact-update import, with the contract's state rules.

A contact exists per sender code; subscription is per phone list; an opted-out number can't
be subscribed (nor opted back in) and is listed, with its date and reason, by the sender code's
opt-outs; profile fields are definitions made in the UI, so the API only reads them. Imports
update existing contacts only and finish at once.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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

_PHONE = re.compile(r"^[1-9]\d{7,14}$")
_STANDARD = {
    "emailAddress": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "postalCode": "postal_code",
}


@dataclass
class SmsField:
    field_id: int
    name: str
    data_type: str = "Text"
    max_length: int | None = 100
    status: str = "Active"


@dataclass
class SmsContact:
    phone: str
    profile: dict[str, str] = field(default_factory=dict)  # SMSContact standard fields
    values: dict[int, str] = field(default_factory=dict)  # profile field id -> value
    opted_out: bool = False
    opt_out_date: str | None = None
    opt_out_reason: str | None = None  # Campaign (texted STOP), API, Admin, ...
    subscribe_date: str | None = None
    unsubscribe_date: str | None = None
    lists: dict[int, str] = field(default_factory=dict)  # phone list id -> Subscribed|Unsubscribed

    def render(self) -> Json:
        return {
            "subscribeDate": self.subscribe_date,
            "unsubscribeDate": self.unsubscribe_date,
            "phoneNumber": self.phone,
            "emailAddress": self.profile.get("emailAddress", ""),
            "firstName": self.profile.get("firstName", ""),
            "lastName": self.profile.get("lastName", ""),
            "birthday": None,
            "postalCode": self.profile.get("postalCode", ""),
            "optedOut": self.opted_out,
            "segmentationFieldValues": [
                {"segmentationFieldId": k, "value": v} for k, v in sorted(self.values.items())
            ],
        }


def _opt_out(contact: SmsContact, reason: str, date: str) -> None:
    contact.opted_out = True
    contact.opt_out_date = date
    contact.opt_out_reason = reason
    contact.unsubscribe_date = date
    contact.lists = dict.fromkeys(contact.lists, "Unsubscribed")


def _date(query: dict[str, str], name: str) -> datetime | None:
    """A date filter of the query (ISO 8601, as Listrak writes dates); 400 when unreadable."""
    raw = query.get(name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=None)
    except ValueError:
        raise ApiError(invalid(name)) from None


@dataclass
class PhoneList:
    phone_list_id: int
    name: str
    create_date: str = field(default_factory=now)


@dataclass
class SenderCode:
    sender_code_id: int
    code: str
    merchant_name: str
    lists: dict[int, PhoneList] = field(default_factory=dict)
    contacts: dict[str, SmsContact] = field(default_factory=dict)
    imports: dict[int, Json] = field(default_factory=dict)


class SmsBackend:
    """State and route handlers of `/sms/v1`; thread-safe behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sender_codes: dict[int, SenderCode] = {}
        self.fields: dict[int, SmsField] = {}  # company-wide, shared by every sender code
        self._ids = 0
        # Import status words as answered (Listrak documents none): e.g. {"Completed": "Done"}
        # tries a client on a word it doesn't know, as the email backend's do.
        self.status_words: dict[str, str] = {}

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    # Set-up, as done in Listrak's UI ---------------------------------------------------------

    def create_sender_code(self, code: str, merchant_name: str = "Demo") -> SenderCode:
        with self.lock:
            item = SenderCode(len(self.sender_codes) + 1, code, merchant_name)
            self.sender_codes[item.sender_code_id] = item
            return item

    def create_phone_list(self, sender_code_id: int, name: str) -> PhoneList:
        with self.lock:
            item = PhoneList(self._next(), name)
            self.sender_codes[sender_code_id].lists[item.phone_list_id] = item
            return item

    def create_field(self, name: str, data_type: str = "Text", max_length: int = 100) -> SmsField:
        with self.lock:
            item = SmsField(self._next(), name, data_type, max_length)
            self.fields[item.field_id] = item
            return item

    def opt_out(
        self,
        sender_code_id: int,
        phone: str,
        reason: str = "Campaign",
        date: str | None = None,
    ) -> None:
        """The handset texted STOP (or another `reason`, on `date`: now by default): opted
        out of the sender code, off every list."""
        with self.lock:
            code = self.sender_codes[sender_code_id]
            contact = code.contacts.setdefault(phone, SmsContact(phone))
            _opt_out(contact, reason, date or now())

    def forget(self, phone: str | None, email: str | None) -> int:
        """Remove the contacts with this phone number, or with this email in their profile,
        from every sender code (a Forget request completed); how many were removed."""
        address = (email or "").lower()
        removed = 0
        with self.lock:
            for code in self.sender_codes.values():
                gone = [
                    p
                    for p, c in code.contacts.items()
                    if (phone and p == phone)
                    or (address and c.profile.get("emailAddress", "").lower() == address)
                ]
                for p in gone:
                    del code.contacts[p]
                removed += len(gone)
        return removed

    def members(self, sender_code_id: int, phone_list_id: int) -> dict[str, SmsContact]:
        """Subscribed contacts of a phone list (for tests and the summary)."""
        with self.lock:
            code = self.sender_codes[sender_code_id]
            return {
                p: c for p, c in code.contacts.items() if c.lists.get(phone_list_id) == "Subscribed"
            }

    # Routing --------------------------------------------------------------------------------

    _ROUTES = Routes(
        (("GET",), "codes", r"^/ShortCode$"),
        (("GET",), "code", r"^/ShortCode/(?P<code>[^/]+)$"),
        (("GET",), "lists", r"^/ShortCode/(?P<code>[^/]+)/PhoneList$"),
        (("GET",), "list", r"^/ShortCode/(?P<code>[^/]+)/PhoneList/(?P<list>[^/]+)$"),
        (("GET",), "fields", r"^/ShortCode/(?P<code>[^/]+)/SegmentationField$"),
        (("GET",), "members", r"^/ShortCode/(?P<code>[^/]+)/PhoneList/(?P<list>[^/]+)/Contact$"),
        (("POST",), "create", r"^/ShortCode/(?P<code>[^/]+)/PhoneList/(?P<list>[^/]+)/Contact$"),
        (("GET",), "contact", r"^/ShortCode/(?P<code>[^/]+)/Contact/(?P<phone>[^/]+)$"),
        (
            ("GET",),
            "subscriptions",
            r"^/ShortCode/(?P<code>[^/]+)/Contact/(?P<phone>[^/]+)/PhoneList$",
        ),
        (("PUT",), "contact", r"^/ShortCode/(?P<code>[^/]+)/Contact$"),
        (
            ("POST",),
            "subscribe",
            r"^/ShortCode/(?P<code>[^/]+)/Contact/(?P<phone>[^/]+)/PhoneList/(?P<list>[^/]+)$",
        ),
        (
            ("DELETE",),
            "unsubscribe",
            r"^/ShortCode/(?P<code>[^/]+)/ContactUnsubscribe/(?P<phone>[^/]+)"
            r"/PhoneList/(?P<list>[^/]+)$",
        ),
        (("POST",), "import", r"^/ShortCode/(?P<code>[^/]+)/ContactImport$"),
        (("GET",), "import", r"^/ShortCode/(?P<code>[^/]+)/ContactImport/(?P<imp>[^/]+)$"),
        (("GET",), "opt_outs", r"^/ShortCode/(?P<code>[^/]+)/OptOut$"),
    )

    def handle(self, method: str, path: str, query: dict[str, str], body: Json | None) -> Reply:
        """Answer one authenticated request to `path` (relative to `/sms/v1`)."""
        return self._ROUTES.dispatch(self, self.lock, method, path, query, body)

    # Lookups --------------------------------------------------------------------------------

    def _code(self, ids: dict[str, str]) -> SenderCode:
        raw = ids["code"]
        if not raw.isdigit() or int(raw) not in self.sender_codes:
            raise ApiError(not_found("senderCodeId"))
        return self.sender_codes[int(raw)]

    def _list(self, code: SenderCode, ids: dict[str, str]) -> PhoneList:
        raw = ids["list"]
        if not raw.isdigit() or int(raw) not in code.lists:
            raise ApiError(error(400, "ERROR_INVALID_LIST_ID", "The phone list id is invalid."))
        return code.lists[int(raw)]

    @staticmethod
    def _phone(raw: object) -> str:
        if not isinstance(raw, str) or not _PHONE.match(raw):
            raise ApiError(error(400, "ERROR_INVALID_PHONE_NUMBER", "The phone number is invalid."))
        return raw

    def _apply(self, contact: SmsContact, body: Json) -> None:
        for key in _STANDARD:
            if isinstance(body.get(key), str):
                contact.profile[key] = body[key]
        for item in body.get("segmentationFieldValues") or []:
            field_id = item.get("segmentationFieldId") if isinstance(item, dict) else None
            if field_id not in self.fields:
                raise ApiError(
                    error(
                        400,
                        "ERROR_INVALID_SEGMENTATION_FIELD_ID",
                        "A profile field id is not valid for this sender code.",
                    )
                )
            value = str(item.get("value") or "")
            limit = self.fields[field_id].max_length
            if limit is not None and len(value) > limit:
                raise ApiError(
                    error(400, "ERROR_SEGMENTATION_MAX_LENGTH", "A profile value is too long.")
                )
            contact.values[field_id] = value

    # Handlers -------------------------------------------------------------------------------

    def _get_codes(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        return 200, {
            "status": 200,
            "data": [self._render_code(c) for c in self.sender_codes.values()],
        }

    def _get_code(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        return 200, {"status": 200, "data": self._render_code(self._code(ids))}

    @staticmethod
    def _render_code(code: SenderCode) -> Json:
        return {
            "shortCodeId": code.sender_code_id,
            "code": code.code,
            "country": "US",
            "merchantName": code.merchant_name,
        }

    @staticmethod
    def _render_list(item: PhoneList) -> Json:
        return {
            "phoneListId": item.phone_list_id,
            "phoneListName": item.name,
            "createDate": item.create_date,
            "status": "Active",
            "smsListType": "Standard",
            "requireDoubleOptIn": False,
            "requireAgeGate": False,
        }

    def _get_lists(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        status = query.get("status", "active").lower()
        if status not in ("active", "inactive"):
            raise ApiError(invalid("status"))
        items = list(self._code(ids).lists.values()) if status == "active" else []
        return paged(items, query, self._render_list)

    def _get_list(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        return 200, {"status": 200, "data": self._render_list(self._list(code, ids))}

    def _get_fields(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        self._code(ids)
        data = [
            {
                "segmentationFieldId": f.field_id,
                "segmentationFieldName": f.name,
                "dataType": f.data_type,
                "maxLength": f.max_length,
                "statusFlag": f.status,
            }
            for f in self.fields.values()
        ]
        return 200, {"status": 200, "data": data}

    def _get_members(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        item = self._list(code, ids)
        members = [
            c for c in code.contacts.values() if c.lists.get(item.phone_list_id) == "Subscribed"
        ]
        return paged(members, query, SmsContact.render)

    def _get_opt_outs(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        """The sender code's opted-out numbers, oldest first, by opt-out date between
        `startDate` and `endDate` (both included), paged."""
        code = self._code(ids)
        start, end = _date(query, "startDate"), _date(query, "endDate")
        found = sorted(
            (
                c
                for c in code.contacts.values()
                if c.opted_out
                and c.opt_out_date is not None
                and (start is None or datetime.fromisoformat(c.opt_out_date) >= start)
                and (end is None or datetime.fromisoformat(c.opt_out_date) <= end)
            ),
            key=lambda c: (str(c.opt_out_date), c.phone),
        )
        return paged(
            found,
            query,
            lambda c: {
                "phoneNumber": c.phone,
                "optOutDate": c.opt_out_date,
                "optOutReason": c.opt_out_reason,
            },
        )

    def _post_create(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        item = self._list(code, ids)
        body = required(body)
        phone = self._phone(body.get("phoneNumber"))
        if phone in code.contacts:
            raise ApiError(
                error(400, "ERROR_PHONE_NUMBER_FOUND", "The phone number already exists.")
            )
        contact = SmsContact(phone)
        self._apply(contact, body)
        contact.subscribe_date = now()
        contact.lists[item.phone_list_id] = "Subscribed"
        code.contacts[phone] = contact
        return 201, {"status": 201, "resourceId": phone}

    def _get_contact(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        contact = code.contacts.get(self._phone(ids["phone"]))
        if contact is None:
            raise ApiError(not_found("phoneNumber"))
        return 200, {"status": 200, "data": contact.render()}

    def _get_subscriptions(
        self, ids: dict[str, str], query: dict[str, str], body: Json | None
    ) -> Reply:
        """The phone lists a contact is or was on, with its state on each."""
        code = self._code(ids)
        contact = code.contacts.get(self._phone(ids["phone"]))
        if contact is None:
            raise ApiError(not_found("senderCodeId and phoneNumber"))
        data = [
            {
                "phoneListId": list_id,
                "subscriptionState": state,
                "subscribeDate": contact.subscribe_date,
                "unsubscribeDate": contact.unsubscribe_date if state != "Subscribed" else None,
                "pendingDate": None,
                "pendingDoubleOptIn": False,
                "pendingAgeGate": False,
            }
            for list_id, state in sorted(contact.lists.items())
        ]
        return 200, {"status": 200, "data": data}

    def _put_contact(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        body = required(body)
        phone = self._phone(body.get("phoneNumber"))
        contact = code.contacts.get(phone)
        if contact is None:
            raise ApiError(
                error(400, "ERROR_PHONE_NUMBER_NOT_FOUND", "The phone number was not found.")
            )
        self._apply(contact, body)
        if body.get("optedOut") is True and not contact.opted_out:
            _opt_out(contact, "API", now())
        return 200, {"status": 200, "resourceId": phone}

    def _post_subscribe(
        self, ids: dict[str, str], query: dict[str, str], body: Json | None
    ) -> Reply:
        code = self._code(ids)
        item = self._list(code, ids)
        phone = self._phone(ids["phone"])
        contact = code.contacts.get(phone)
        if contact is None:
            raise ApiError(
                error(400, "ERROR_PHONE_NUMBER_NOT_FOUND", "The phone number was not found.")
            )
        if contact.opted_out:
            raise ApiError(
                error(400, "ERROR_PHONE_NUMBER_SUSPENDED", "The phone number has opted out.")
            )
        if contact.lists.get(item.phone_list_id) == "Subscribed":
            raise ApiError(
                error(400, "ERROR_SUBSCRIBED_PHONE_NUMBER", "The phone number is subscribed.")
            )
        contact.lists[item.phone_list_id] = "Subscribed"
        contact.subscribe_date = contact.subscribe_date or now()
        return 201, {"status": 201, "resourceId": phone}

    def _delete_unsubscribe(
        self, ids: dict[str, str], query: dict[str, str], body: Json | None
    ) -> Reply:
        code = self._code(ids)
        item = self._list(code, ids)
        contact = code.contacts.get(self._phone(ids["phone"]))
        if contact is None or contact.lists.get(item.phone_list_id) != "Subscribed":
            raise ApiError(
                error(
                    400,
                    "ERROR_PHONE_NUMBER_NOT_SUBSCRIBED",
                    "The phone number is not subscribed to this list.",
                )
            )
        contact.lists[item.phone_list_id] = "Unsubscribed"
        return 200, {"status": 200}

    def _post_import(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        body = required(body, "fileName", "fileStream", "importType", "fileMappings")
        if body["importType"] != "UpdateSubscribers":
            raise ApiError(invalid("importType"))
        try:
            text = base64.b64decode(body["fileStream"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(invalid("fileStream")) from None
        mappings: list[Any] = body["fileMappings"]
        phone_col = [m["fileColumn"] for m in mappings if m.get("fileColumnType") == "Phone"]
        if len(phone_col) != 1:
            raise ApiError(invalid("fileMappings"))
        field_cols = {
            m["fileColumn"]: m["segmentationFieldId"]
            for m in mappings
            if m.get("fileColumnType") == "SegmentationField"
        }
        if any(f not in self.fields for f in field_cols.values()):
            raise ApiError(
                error(
                    400,
                    "ERROR_INVALID_SEGMENTATION_FIELD_ID",
                    "A profile field id is not valid for this sender code.",
                )
            )
        qualifier = body.get("textQualifier") or '"'
        rows = list(csv.reader(io.StringIO(text), quotechar=qualifier))
        if body.get("hasColumnNames"):
            rows = rows[1:]
        for row in rows:
            contact = code.contacts.get(row[phone_col[0]]) if row else None
            if contact is None:
                continue  # unknown numbers are dropped: imports never create or subscribe
            for column, field_id in field_cols.items():
                contact.values[field_id] = row[column]
        import_id = self._next()
        code.imports[import_id] = {
            "importFileId": import_id,
            "smsSenderCodeId": code.sender_code_id,
            "fileName": body["fileName"],
            "startDate": now(),
            "endDate": now(),
            "status": "Completed",
        }
        return 201, {"status": 201, "resourceId": str(import_id)}

    def _get_import(self, ids: dict[str, str], query: dict[str, str], body: Json | None) -> Reply:
        code = self._code(ids)
        raw = ids["imp"]
        if not raw.isdigit() or int(raw) not in code.imports:
            raise ApiError(not_found("importFileId"))
        data = dict(code.imports[int(raw)])
        data["status"] = self.status_words.get(data["status"], data["status"])
        return 200, {"status": 200, "data": data}
