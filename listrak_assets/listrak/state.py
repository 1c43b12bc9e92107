"""A sink's mirror state: who it put on a Listrak list, kept across runs under `<warehouse>/state/`.

Each audience sink keeps two Parquet files, one row per member, tagged with the Listrak place
they are about (the scope: the email list and membership field, or the SMS sender code and
phone list):

- `<name>_members.parquet`: the members after the last send that finished.
- `<name>_pending.parquet`: every member a send may have added since then (written *before*
  that send's first write, so a run killed half way still leaves it behind).

The previous members of a send are `members | pending`, so nothing a failed run may have added
is forgotten, and only a finished send replaces `members` and clears `pending`.

Each file carries its format version and scope in the Parquet file's key-value metadata, so an
empty record ("we added nobody") is told apart from a missing one ("we don't know"). Since
version 3 the email members file also holds each member's row hash as it was last confirmed
sent (`row_hash`) and, in its metadata, how the hashes were made and the date of the last full
send (`sent`): what lets the next send carry only what changed. Files written before (version 1:
no metadata, email only; version 2: no hashes) are read as they are, their members with no hash
(so the next send carries them all), and rewritten in today's format by the next write. The
files hold email addresses or phone numbers (PII), like the clean tables beside them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from listrak_assets.listrak.errors import ListrakError
from listrak_assets.listrak.membership import EMAIL
from listrak_assets.storage import (
    Location,
    read_parquet,
    read_parquet_metadata,
    text,
    write_parquet,
)

FORMAT_VERSION = 3
META_KEY = "listrak_assets.state"
# Version 1 files (no metadata) were only ever written by the email sink, with these columns.
_V1_SCOPE = ("list_id", "field_id")
HASH = "row_hash"  # a member's row hash as last confirmed sent; null: not known to have arrived


class StateError(ListrakError):
    """A state file can't be used as it is; the message says what to do."""


@dataclass(frozen=True)
class Record:
    """One state file's members for one scope; `found` is False when there is no record of
    that scope at all (no file, or a file about another list)."""

    keys: pl.Series
    found: bool
    version: int | None = None  # the file's format version; None when there is no file
    hashes: pl.DataFrame | None = None  # key and `row_hash`; None: the file has no hashes
    sent: dict[str, Any] = field(default_factory=dict)  # how the hashes were made, and when


class MirrorState:
    """The two state files of one sink, read and written for one scope at a time."""

    def __init__(self, folder: Location, name: str, scope: tuple[str, ...], key: str) -> None:
        self.folder = folder
        self.name = name
        self.scope_columns = scope
        self.key = key

    @property
    def members_path(self) -> Location:
        return self.folder / f"{self.name}_members.parquet"

    @property
    def pending_path(self) -> Location:
        return self.folder / f"{self.name}_pending.parquet"

    def _empty(self) -> pl.Series:
        return pl.Series(self.key, [], dtype=pl.String)

    def read(self, path: Location, scope: tuple[int, ...]) -> Record:
        """The members of `scope` in one file; any version this code knows."""
        if not path.is_file():
            return Record(self._empty(), False)
        try:
            meta = read_parquet_metadata(path).get(META_KEY)
            frame = read_parquet(path)
        except Exception as err:  # noqa: BLE001 (polars raises several kinds for a bad file)
            raise StateError(
                f"state file {text(path)} can't be read ({type(err).__name__}); restore it from a "
                "backup, or move it away (see the README's mirror state section for what "
                "happens then)"
            ) from None
        if meta is None:
            return self._read_v1(path, frame, scope)
        info = json.loads(meta)
        version = int(info.get("version", 0))
        if version > FORMAT_VERSION:
            raise StateError(
                f"state file {text(path)} has format version {version}, newer than this "
                f"listrak-assets understands ({FORMAT_VERSION}); upgrade listrak-assets"
            )
        wanted = dict(zip(self.scope_columns, scope, strict=True))
        if info.get("scope") != wanted or self.key not in frame.columns:
            return Record(self._empty(), False, version)
        keys = frame[self.key].cast(pl.String)
        if HASH not in frame.columns:
            return Record(keys, True, version)
        hashes = frame.select(keys, pl.col(HASH).cast(pl.UInt64))
        return Record(keys, True, version, hashes, dict(info.get("sent") or {}))

    def _read_v1(self, path: Location, frame: pl.DataFrame, scope: tuple[int, ...]) -> Record:
        """Today's format before versions: `list_id`, `field_id` and the key on every row; a
        record exists only where it has rows (an empty file can't say what it was about)."""
        columns = (*_V1_SCOPE, self.key)
        if self.scope_columns != _V1_SCOPE or any(c not in frame.columns for c in columns):
            raise StateError(
                f"state file {text(path)} has no format version and is not an email audience state "
                "file of an earlier listrak-assets; restore it from a backup or move it away"
            )
        match = pl.all_horizontal(
            pl.col(c) == v for c, v in zip(self.scope_columns, scope, strict=True)
        )
        mine = frame.filter(match)[self.key].cast(pl.String)
        return Record(mine, mine.len() > 0, 1)

    def write(
        self,
        path: Location,
        scope: tuple[int, ...],
        keys: Iterable[str] | pl.Series,
        hashes: pl.DataFrame | None = None,
        sent: dict[str, Any] | None = None,
    ) -> None:
        """Replace the file with this scope's members, in today's format; with `hashes` (key
        and `row_hash`), each member's hash beside it (null for a member without one)."""
        frame = pl.Series(self.key, list(keys), dtype=pl.String).unique().sort().to_frame()
        info: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "scope": dict(zip(self.scope_columns, scope, strict=True)),
        }
        if hashes is not None:
            known = hashes.select(
                pl.col(self.key).cast(pl.String), pl.col(HASH).cast(pl.UInt64)
            ).unique(self.key, keep="last")
            frame = frame.join(known, on=self.key, how="left")
            info["sent"] = sent or {}
        write_parquet(frame, path, {META_KEY: json.dumps(info)})

    # What the sinks use ----------------------------------------------------------------------

    def members(self, *scope: int) -> pl.Series:
        return self.read(self.members_path, scope).keys

    def pending(self, *scope: int) -> pl.Series:
        return self.read(self.pending_path, scope).keys

    def has_members(self, *scope: int) -> bool:
        """Whether a finished send left a record of this scope (empty or not)."""
        return self.read(self.members_path, scope).found

    def has_record(self, *scope: int) -> bool:
        """Whether any send, finished or not, left a record of this scope."""
        return self.has_members(*scope) or self.read(self.pending_path, scope).found

    def old_format(self) -> list[Location]:
        """The state files still in an older format (rewritten by the next send)."""
        old = []
        for path in (self.members_path, self.pending_path):
            if path.is_file() and META_KEY not in read_parquet_metadata(path):
                old.append(path)
        return old

    def previous(self, *scope: int) -> pl.Series:
        """Everyone who may be a member because of an earlier send."""
        both = pl.concat([self.members(*scope), self.pending(*scope)])
        return both.unique().sort()

    def record_pending(self, *scope: int, keys: Iterable[str] | pl.Series) -> None:
        """Before sending: remember that these members are about to be added."""
        union = [*self.pending(*scope).to_list(), *keys]
        self.write(self.pending_path, scope, union)

    def commit(
        self,
        *scope: int,
        members: Iterable[str] | pl.Series,
        unknown: Iterable[str] = (),
        hashes: pl.DataFrame | None = None,
        sent: dict[str, Any] | None = None,
    ) -> None:
        """After a send finished: these are the members now (with `hashes`, each one's row
        as confirmed sent). Those whose outcome stayed unknown stay pending; with none, the
        pending file goes."""
        self.write(self.members_path, scope, members, hashes, sent)
        unknown = list(unknown)
        if unknown:
            self.write(self.pending_path, scope, unknown)
        else:
            self.pending_path.unlink(missing_ok=True)


class MemberState(MirrorState):
    """The email audience's state: emails with the membership field `on`, per list and field,
    each with the hash of its row as last confirmed sent."""

    def __init__(self, folder: Location) -> None:
        super().__init__(folder, "email_audience", _V1_SCOPE, EMAIL)

    def sent(self, *scope: int) -> tuple[pl.DataFrame | None, dict[str, Any]]:
        """Each member's row hash as the last finished send confirmed it, and how the hashes
        were made (None: no hashes on record). A member a later send may have changed (it is
        pending: that send did not finish) has none, so it is sent again."""
        record = self.read(self.members_path, scope)
        if record.hashes is None:
            return None, {}
        pending = self.pending(*scope).implode()
        hashes = record.hashes.with_columns(
            pl.when(pl.col(self.key).is_in(pending)).then(None).otherwise(pl.col(HASH)).alias(HASH)
        )
        return hashes, record.sent


class PhoneState(MirrorState):
    """The SMS audience's state: the numbers this sink subscribed, per sender code and phone
    list (a number already on the list when the sink came is not one of them)."""

    def __init__(self, folder: Location) -> None:
        super().__init__(folder, "sms_audience", ("sender_code_id", "phone_list_id"), "phone")
