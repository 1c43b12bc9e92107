"""The erasure ledger: every person an erasure was filed for, known only by salted hashes.

One JSON file, rewritten whole and atomically after every change (`atomic.py`), so a crash
leaves the old ledger or the new one. A person whose Forget request has a `request_id` is
never submitted again; the hashes of their email and phone are the suppression list that
keeps them out of later exports. The file holds no readable personal data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from listrak_assets.storage import Location, text, write_bytes
from listrak_assets.suppression import (
    SaltError,
    Suppression,
    digest,
    salt_fingerprint,
)

FORMAT_VERSION = 1
PROCESSING = "PROCESSING"
COMPLETE = "COMPLETE"


class LedgerError(ValueError):
    """The ledger file can't be read; the message says what to do."""


@dataclass(frozen=True)
class Person:
    """One person to forget: their normalised email and/or phone (held in memory only)."""

    email: str | None
    phone: str | None

    def key(self, salt: str) -> str:
        return digest(salt, "person", f"{self.email or ''}|{self.phone or ''}")

    def hashes(self, salt: str) -> tuple[str | None, str | None]:
        return (
            digest(salt, "email", self.email) if self.email else None,
            digest(salt, "phone", self.phone) if self.phone else None,
        )


@dataclass
class Entry:
    """What the ledger knows of one person: hashes, the Forget request and its status."""

    key: str
    email: str | None  # salted hash
    phone: str | None  # salted hash
    request_id: str | None = None
    status: str | None = None  # Listrak's: PROCESSING or COMPLETE
    submitted_at: str | None = None
    completed_at: str | None = None
    erased_at: str | None = None  # when the local copies were rewritten without them


@dataclass
class Ledger:
    """The whole ledger file."""

    path: Location
    salt_check: str | None = None
    people: dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Location) -> Ledger:
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            version = int(data.get("version", 0))
            entries = [Entry(**e) for e in data.get("people", [])]
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as err:
            raise LedgerError(
                f"erasure ledger {text(path)} can't be read ({type(err).__name__}); restore it "
                "from a backup: without it forgotten people could be sent again"
            ) from None
        if version > FORMAT_VERSION:
            raise LedgerError(
                f"erasure ledger {text(path)} has format version {version}, newer than this "
                f"listrak-assets understands ({FORMAT_VERSION}); upgrade listrak-assets"
            )
        return cls(path, data.get("salt_check"), {e.key: e for e in entries})

    def save(self) -> None:
        data = {
            "version": FORMAT_VERSION,
            "salt_check": self.salt_check,
            "people": [asdict(e) for e in sorted(self.people.values(), key=lambda e: e.key)],
        }
        write_bytes(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))

    def check_salt(self, salt: str) -> None:
        """Refuse a salt other than the one the ledger was written with: its hashes would
        match nobody, and forgotten people would be sent again."""
        fingerprint = salt_fingerprint(salt)
        if self.salt_check is None:
            self.salt_check = fingerprint
        elif self.salt_check != fingerprint:
            raise SaltError(
                f"LISTRAK_ERASURE_SALT is not the salt erasure ledger {text(self.path)} was "
                "written with; restore the original salt (a new one would let forgotten people "
                "back in)"
            )

    def entry(self, person: Person, salt: str) -> Entry:
        """The person's entry, created (unsaved) when they are new."""
        key = person.key(salt)
        if key not in self.people:
            email, phone = person.hashes(salt)
            self.people[key] = Entry(key, email, phone)
        return self.people[key]

    def suppression(self, salt: str, accepted_only: bool = False) -> Suppression:
        """The hashes of everyone an erasure was filed for (kept out of every send from the
        moment their request arrives), or of those Listrak accepted a request for."""
        people = [e for e in self.people.values() if e.request_id or not accepted_only]
        return Suppression(
            salt,
            emails=frozenset(e.email for e in people if e.email),
            phones=frozenset(e.phone for e in people if e.phone),
        )
