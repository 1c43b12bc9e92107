"""Listrak's SMS API, one method per remote operation (paths under `/sms/v1`).

Only what the SMS audience needs: sender codes, phone lists, profile fields (read-only over
the API), contacts and their list subscriptions, and the contact-update import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from listrak_assets.listrak.errors import ListrakConfigError, ListrakNotFound
from listrak_assets.listrak.fields import ProfileField, name_key
from listrak_assets.listrak.imports import ImportingApi, ImportStatus, csv_file

UPDATE_SUBSCRIBERS = "UpdateSubscribers"  # the only import type of the SMS API


@dataclass(frozen=True)
class SenderCode:
    sender_code_id: int
    code: str
    merchant_name: str


@dataclass(frozen=True)
class PhoneList:
    phone_list_id: int
    name: str


@dataclass(frozen=True)
class SmsImportFile:
    """A `ContactImport`: a CSV (comma, `"` qualifier, header row) with a Phone column first
    and one column per profile field."""

    file_name: str
    content: bytes
    field_ids: tuple[int, ...]

    def body(self) -> dict[str, Any]:
        mappings = [{"fileColumnType": "Phone", "segmentationFieldId": 0, "fileColumn": 0}]
        mappings += [
            {"fileColumnType": "SegmentationField", "segmentationFieldId": f, "fileColumn": i}
            for i, f in enumerate(self.field_ids, start=1)
        ]
        return {
            **csv_file(self.file_name, self.content),
            "importType": UPDATE_SUBSCRIBERS,
            "fileMappings": mappings,
        }


T = TypeVar("T")


def _pick(
    items: list[T],
    wanted: str | int,
    ident: Callable[[T], int],
    names: Callable[[T], tuple[str, ...]],
) -> T | None:
    """The item whose id is `wanted`, or whose name matches it case-insensitively."""
    text = str(wanted).strip()
    if text.isdigit():
        for item in items:
            if ident(item) == int(text):
                return item
    for item in items:
        if any(name_key(n) == text.casefold() for n in names(item)):
            return item
    return None


class SmsApi(ImportingApi):
    """Typed SMS API operations over one authenticated connection; imports are polled at a
    steady interval."""

    # Sender codes, phone lists, profile fields ----------------------------------------------

    def sender_codes(self) -> list[SenderCode]:
        data = self.http.request("GET", "/ShortCode").get("data") or []
        return [
            SenderCode(
                int(d["shortCodeId"]), str(d.get("code") or ""), str(d.get("merchantName") or "")
            )
            for d in data
        ]

    def find_sender_code(self, wanted: str | int) -> SenderCode:
        """By id, code or merchant name; an error listing what exists otherwise."""
        codes = self.sender_codes()
        found = _pick(
            codes, wanted, lambda c: c.sender_code_id, lambda c: (c.code, c.merchant_name)
        )
        if found is None:
            known = ", ".join(f"{c.sender_code_id} ({c.code}, {c.merchant_name})" for c in codes)
            raise ListrakConfigError(
                f"no SMS sender code {wanted!r}; sender codes this integration can see: "
                f"{known or '(none)'}. Fix `sms.sender_code` in the settings"
            )
        return found

    def phone_lists(self, sender_code_id: int) -> list[PhoneList]:
        path = f"/ShortCode/{sender_code_id}/PhoneList"
        return [
            PhoneList(int(d["phoneListId"]), str(d.get("phoneListName") or ""))
            for d in self.http.paged(path)
        ]

    def find_phone_list(self, sender_code_id: int, wanted: str | int) -> PhoneList:
        """By id or name; an error listing the active lists otherwise. Never created."""
        lists = self.phone_lists(sender_code_id)
        found = _pick(lists, wanted, lambda p: p.phone_list_id, lambda p: (p.name,))
        if found is None:
            known = ", ".join(f"{p.phone_list_id} ({p.name!r})" for p in lists)
            raise ListrakConfigError(
                f"no SMS phone list {wanted!r} on sender code {sender_code_id}; phone lists "
                f"there: {known or '(none)'}. Fix `sms.phone_list` in the settings; phone lists "
                "are never created automatically"
            )
        return found

    def fields(self, sender_code_id: int) -> list[ProfileField]:
        data = self.http.request("GET", f"/ShortCode/{sender_code_id}/SegmentationField")
        return [ProfileField.of(d) for d in data.get("data") or []]

    # Contacts and subscriptions -------------------------------------------------------------

    def list_contacts(self, sender_code_id: int, phone_list_id: int) -> Iterator[dict[str, Any]]:
        """The contacts subscribed to a phone list, with their profile values."""
        return self.http.paged(f"/ShortCode/{sender_code_id}/PhoneList/{phone_list_id}/Contact")

    def contact(self, sender_code_id: int, phone: str) -> dict[str, Any] | None:
        """The contact of `phone` on the sender code, or None when there is none."""
        try:
            body = self.http.request("GET", f"/ShortCode/{sender_code_id}/Contact/{phone}")
        except ListrakNotFound:
            return None
        return body.get("data") or None

    def subscribed(self, sender_code_id: int, phone: str, phone_list_id: int) -> bool:
        """Whether `phone` is subscribed to the phone list now (False when the sender code
        doesn't know it): how a write whose answer was lost is settled."""
        try:
            body = self.http.request(
                "GET", f"/ShortCode/{sender_code_id}/Contact/{phone}/PhoneList"
            )
        except ListrakNotFound:
            return False
        return any(
            int(s.get("phoneListId") or 0) == phone_list_id
            and str(s.get("subscriptionState") or "").casefold() == "subscribed"
            for s in body.get("data") or []
        )

    def create_and_subscribe(
        self, sender_code_id: int, phone_list_id: int, contact: dict[str, Any]
    ) -> None:
        path = f"/ShortCode/{sender_code_id}/PhoneList/{phone_list_id}/Contact"
        self.http.request("POST", path, body=contact, idempotent=False)

    def subscribe(self, sender_code_id: int, phone: str, phone_list_id: int) -> None:
        path = f"/ShortCode/{sender_code_id}/Contact/{phone}/PhoneList/{phone_list_id}"
        self.http.request("POST", path, idempotent=False)

    def unsubscribe(self, sender_code_id: int, phone: str, phone_list_id: int) -> None:
        path = f"/ShortCode/{sender_code_id}/ContactUnsubscribe/{phone}/PhoneList/{phone_list_id}"
        self.http.request("DELETE", path)

    def update_contact(self, sender_code_id: int, contact: dict[str, Any]) -> None:
        """Profile values of a known number (never `optedOut`: that can't be undone)."""
        self.http.request("PUT", f"/ShortCode/{sender_code_id}/Contact", body=contact)

    def opt_outs(self, sender_code_id: int, start: str | None = None) -> Iterator[dict[str, Any]]:
        """The numbers opted out of the sender code (`phoneNumber`, `optOutDate`,
        `optOutReason`), all of them or those opted out since `start` (Listrak's date style)."""
        params = {"startDate": start} if start else None
        return self.http.paged(f"/ShortCode/{sender_code_id}/OptOut", params)

    # Contact-update import ------------------------------------------------------------------

    def start_import(self, sender_code_id: int, file: SmsImportFile) -> str:
        path = f"/ShortCode/{sender_code_id}/ContactImport"
        return str(
            self.http.request("POST", path, body=file.body(), idempotent=False)["resourceId"]
        )

    def import_status(self, sender_code_id: int, import_id: str) -> ImportStatus:
        data = self.http.request("GET", f"/ShortCode/{sender_code_id}/ContactImport/{import_id}")
        return ImportStatus.of(data.get("data") or {})
