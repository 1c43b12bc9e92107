"""Listrak's Email API, one method per remote operation (paths under `/email/v1`).

Only what the email audience needs: lists, profile field groups and fields, contacts, and list
imports. Creating something goes through `find_or_create_*`, which looks before it creates and
looks again when an answer was lost (a 5xx, a timeout, a dropped connection), so a retry never
leaves a duplicate group or field; a lost answer to an import start is looked up the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from listrak_assets.listrak.errors import (
    FieldConflict,
    ListNotFound,
    ListrakNotFound,
    OutcomeUnknown,
)
from listrak_assets.listrak.fields import ProfileField, same_name, values_body
from listrak_assets.listrak.http import MAX_PAGE
from listrak_assets.listrak.imports import ImportingApi, ImportStatus, csv_file

# Import types and profile-data strategies, as Listrak spells them.
ADD_SUBSCRIBERS_AND_DATA = "AddSubscribersAndSegmentationData"
UPDATE_SUBSCRIBERS = "UpdateSubscribers"
SEGMENTATION_UPDATE = "Update"

CHECKBOX = "CheckBox"
TEXT = "Text"
_LOOKS = 3  # find-or-create rounds when answers to creates keep getting lost


@dataclass(frozen=True)
class EmailList:
    list_id: int
    name: str


@dataclass(frozen=True)
class FieldGroup:
    group_id: int
    name: str
    position: int


@dataclass(frozen=True)
class FileMapping:
    """Column `column` (0-based) of an import file is an `Email` or a profile field."""

    column: int
    column_type: str
    field_id: int | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fileColumn": self.column, "fileColumnType": self.column_type}
        if self.field_id is not None:
            out["segmentationFieldId"] = self.field_id
        return out


@dataclass(frozen=True)
class ImportFile:
    """A `ListImport` request: a CSV file (comma, `"` qualifier, header row) and its mappings."""

    file_name: str
    content: bytes
    mappings: tuple[FileMapping, ...]
    import_type: str = ADD_SUBSCRIBERS_AND_DATA
    segmentation_import_type: str = SEGMENTATION_UPDATE
    # Listrak's own notifications about the import; never wanted from a pipeline.
    suppress_email_notifications: bool = True
    trigger_journey: bool = False
    # Only with UpdateSubscribers; left false so nothing about unsubscribed contacts changes.
    include_unsubscribed: bool = False

    def body(self) -> dict[str, Any]:
        return {
            **csv_file(self.file_name, self.content),
            "fileDelimiter": ",",
            "fileMappings": [m.body() for m in self.mappings],
            "importType": self.import_type,
            "segmentationImportType": self.segmentation_import_type,
            "suppressEmailNotifications": self.suppress_email_notifications,
            "triggerJourney": self.trigger_journey,
            "includeUnsubscribed": self.include_unsubscribed,
        }


def require_checkbox(found: ProfileField, group: str) -> None:
    """The membership field must be a CheckBox: FieldConflict, saying what to change, if not."""
    if found.data_type.casefold() != CHECKBOX.casefold():
        raise FieldConflict(
            f"profile field {found.name!r} in group {group!r} is a {found.data_type} field, "
            "not a CheckBox: rename `segment_name` or change the field in Listrak"
        )


class EmailApi(ImportingApi):
    """Typed Email API operations over one authenticated connection."""

    # Small imports finish in seconds: polls start quick and slow down to the interval.
    first_poll: ClassVar[float | None] = 0.25

    # Lists ---------------------------------------------------------------------------------

    def lists(self) -> list[EmailList]:
        data = self.http.request("GET", "/List").get("data") or []
        return [EmailList(int(d["listId"]), str(d.get("listName") or "")) for d in data]

    def find_list(self, name: str) -> EmailList:
        """The list with exactly this name. Lists are never created."""
        lists = self.lists()
        for item in lists:
            if item.name == name:
                return item
        raise ListNotFound(name, [item.name for item in lists])

    # Profile field groups and fields -------------------------------------------------------

    def field_groups(self, list_id: int) -> list[FieldGroup]:
        data = self.http.request("GET", f"/List/{list_id}/SegmentationFieldGroup").get("data")
        return [
            FieldGroup(
                int(d["segmentationFieldGroupId"]),
                str(d.get("segmentationFieldGroupName") or ""),
                int(d.get("position") or 0),
            )
            for d in data or []
        ]

    def create_field_group(self, list_id: int, name: str, position: int) -> int:
        body = {"segmentationFieldGroupName": name, "position": position}
        created = self.http.request(
            "POST", f"/List/{list_id}/SegmentationFieldGroup", body=body, idempotent=False
        )
        return int(created["resourceId"])

    def fields(self, list_id: int, group_id: int) -> list[ProfileField]:
        path = f"/List/{list_id}/SegmentationFieldGroup/{group_id}/SegmentationField"
        return [ProfileField.of(d) for d in self.http.request("GET", path).get("data") or []]

    def create_field(
        self,
        list_id: int,
        group_id: int,
        name: str,
        data_type: str,
        max_length: int,
        position: int,
    ) -> int:
        path = f"/List/{list_id}/SegmentationFieldGroup/{group_id}/SegmentationField"
        body = {
            "segmentationFieldName": name,
            "dataType": data_type,
            "maxLength": max_length,
            "position": position,
        }
        return int(self.http.request("POST", path, body=body, idempotent=False)["resourceId"])

    def find_or_create_group(self, list_id: int, name: str) -> tuple[FieldGroup, bool]:
        """The group named `name` (case-insensitively, oldest first), created if missing."""
        cause = "lost"
        for _ in range(_LOOKS):
            groups = self.field_groups(list_id)
            matches = sorted(
                (g for g in groups if same_name(g.name, name)), key=lambda g: g.group_id
            )
            if matches:
                return matches[0], False
            position = max((g.position for g in groups), default=0) + 1
            try:
                group_id = self.create_field_group(list_id, name, position)
            except OutcomeUnknown as err:
                cause = err.cause
                continue  # maybe created: look again before creating
            return FieldGroup(group_id, name, position), True
        raise OutcomeUnknown("POST", f"/List/{list_id}/SegmentationFieldGroup", _LOOKS, cause)

    def find_or_create_field(
        self,
        list_id: int,
        group: FieldGroup,
        name: str,
        data_type: str,
        max_length: int,
        *,
        create: bool = True,
    ) -> tuple[ProfileField | None, bool]:
        """The field `name` in `group` (case-insensitively), created when missing and
        `create` is set; (None, False) when missing and not created."""
        cause = "lost"
        for _ in range(_LOOKS):
            existing = self.fields(list_id, group.group_id)
            matches = sorted(
                (f for f in existing if same_name(f.name, name)), key=lambda f: f.field_id
            )
            if matches:
                return matches[0], False
            if not create:
                return None, False
            position = max((f.position for f in existing), default=0) + 1
            try:
                field_id = self.create_field(
                    list_id, group.group_id, name, data_type, max_length, position
                )
            except OutcomeUnknown as err:
                cause = err.cause
                continue
            return ProfileField(field_id, name, data_type, max_length, position), True
        raise OutcomeUnknown("POST", f"/List/{list_id}/.../SegmentationField", _LOOKS, cause)

    def membership_field(
        self, list_id: int, group: FieldGroup, name: str, *, create: bool = True
    ) -> tuple[ProfileField | None, bool]:
        """The CheckBox field that says who is in the audience."""
        # A CheckBox stores on/off; 3 characters fit either spelling should the length count.
        found, created = self.find_or_create_field(list_id, group, name, CHECKBOX, 3, create=create)
        if found is not None:
            require_checkbox(found, group.name)
        return found, created

    # Contacts ------------------------------------------------------------------------------

    def contact(
        self, list_id: int, email: str, field_ids: tuple[int, ...] = ()
    ) -> dict[str, Any] | None:
        params = {"segmentationFieldIds": ",".join(map(str, field_ids))} if field_ids else None
        try:
            path = f"/List/{list_id}/Contact/{quote(email, safe='@+')}"
            body = self.http.request("GET", path, params=params)
        except ListrakNotFound:
            return None
        return body.get("data")

    def contacts(
        self,
        list_id: int,
        field_ids: tuple[int, ...] = (),
        state: str = "Subscribed",
        count: int = MAX_PAGE,
    ) -> Iterator[dict[str, Any]]:
        params = {"subscriptionState": state}
        if field_ids:
            params["segmentationFieldIds"] = ",".join(map(str, field_ids))
        return self.http.paged(f"/List/{list_id}/Contact", params, count)

    def upsert_contact(
        self,
        list_id: int,
        email: str,
        values: dict[int, str] | None = None,
        *,
        subscribed: bool = True,
    ) -> str:
        """Create or update one contact; never overrides an earlier unsubscribe."""
        body = {
            "emailAddress": email,
            "subscriptionState": "Subscribed" if subscribed else "Unsubscribed",
            "segmentationFieldValues": values_body(values or {}),
        }
        # An upsert keyed on the address: repeating it is harmless.
        return str(self.http.request("POST", f"/List/{list_id}/Contact", body=body)["resourceId"])

    # List imports --------------------------------------------------------------------------

    def imports_named(self, list_id: int, file_name: str) -> list[str]:
        """The ids of the list's imports of a file of this name, oldest first."""
        data = self.http.request("GET", f"/List/{list_id}/ListImport").get("data") or []
        found = [d for d in data if str(d.get("importFileName") or "") == file_name]
        return [str(d["importFileId"]) for d in sorted(found, key=lambda d: int(d["importFileId"]))]

    def start_import(self, list_id: int, file: ImportFile) -> str:
        """Start importing `file`. Each call makes a new import job, so after an answer that
        may have come after Listrak started one, the list's imports are searched for the
        file's name (unique per send) before it is sent again."""
        cause = "lost"
        for _ in range(_LOOKS):
            try:
                created = self.http.request(
                    "POST", f"/List/{list_id}/ListImport", body=file.body(), idempotent=False
                )
            except OutcomeUnknown as err:
                cause = err.cause
                started = self.imports_named(list_id, file.file_name)
                if started:
                    return started[-1]
                continue
            return str(created["resourceId"])
        raise OutcomeUnknown("POST", f"/List/{list_id}/ListImport", _LOOKS, cause)

    def import_status(self, list_id: int, import_id: str) -> ImportStatus:
        data = self.http.request("GET", f"/List/{list_id}/ListImport/{import_id}/Status")
        return ImportStatus.of(data.get("data") or {})

    def import_summary(self, list_id: int, import_id: str) -> dict[str, int]:
        data = self.http.request("GET", f"/List/{list_id}/ListImport/{import_id}/Summary")
        return {k: int(v) for k, v in (data.get("data") or {}).items() if isinstance(v, int)}

    def import_contacts(self, list_id: int, import_id: str) -> Iterator[dict[str, Any]]:
        return self.http.paged(f"/List/{list_id}/ListImport/{import_id}/Contact")
