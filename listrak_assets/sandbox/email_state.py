"""The emulator's Email API state: lists, profile field groups and fields, contacts and list
imports, as plain data with Listrak's JSON shapes, and how profile values are applied.

CheckBox values are stored as `on`/`off`. Profile data: `Update` sets the non-blank values,
`Append` fills only empty fields, `Overwrite` also clears mapped fields left blank.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from listrak_assets.sandbox.api import Json

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
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


def apply_values(contact: Contact, values: dict[int, str], mode: str, mapped: list[int]) -> None:
    """Profile values into a contact: Update sets non-blank values, Append fills empty fields
    only, Overwrite also clears the mapped fields left blank."""
    for fid in mapped:
        value = values.get(fid, "")
        if mode == "Append" and contact.values.get(fid):
            continue
        if value or mode == "Overwrite":
            contact.values[fid] = value
