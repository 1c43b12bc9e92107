"""The email audience's mirror state: who had the membership field `on`, kept across runs.

Two Parquet files under `<warehouse>/state/`, one row per email, tagged with the list and
field they are about:

- `email_audience_members.parquet`: the audience of the last send whose imports all succeeded.
- `email_audience_pending.parquet`: every email set `on` by a send since then (written
  *before* its first import starts, so a run that dies half way still leaves it behind).

The previous members of a send are `members | pending`; leavers are those not in the audience
now. A run that fails leaves `members` as it was, so its leavers are computed again next time,
and whatever it may have set `on` is in `pending`, so nothing it touched is forgotten. Only a
run whose every import succeeded replaces `members` and clears `pending`.

The files hold email addresses (PII), like the clean tables beside them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listrak_assets.atomic import atomic_path
from listrak_assets.listrak.membership import EMAIL

MEMBERS = "email_audience_members.parquet"
PENDING = "email_audience_pending.parquet"
_SCHEMA = {"list_id": pl.Int64, "field_id": pl.Int64, EMAIL: pl.String}


class MemberState:
    """Reads and writes the two state files atomically (see `listrak_assets.atomic`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def members_path(self) -> Path:
        return self.folder / MEMBERS

    @property
    def pending_path(self) -> Path:
        return self.folder / PENDING

    def _read(self, path: Path, list_id: int, field_id: int) -> pl.Series:
        if not path.is_file():
            return pl.Series(EMAIL, [], dtype=pl.String)
        frame = pl.read_parquet(path)
        # Rows about another list or field (the settings changed) are not this mirror's.
        mine = frame.filter((pl.col("list_id") == list_id) & (pl.col("field_id") == field_id))
        return mine[EMAIL]

    def _write(self, path: Path, list_id: int, field_id: int, emails: pl.Series) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame(
            {
                "list_id": pl.repeat(list_id, emails.len(), dtype=pl.Int64, eager=True),
                "field_id": pl.repeat(field_id, emails.len(), dtype=pl.Int64, eager=True),
                EMAIL: emails.cast(pl.String),
            },
            schema=_SCHEMA,
        )
        with atomic_path(path) as tmp:
            frame.write_parquet(tmp)

    def members(self, list_id: int, field_id: int) -> pl.Series:
        return self._read(self.members_path, list_id, field_id)

    def pending(self, list_id: int, field_id: int) -> pl.Series:
        return self._read(self.pending_path, list_id, field_id)

    def previous(self, list_id: int, field_id: int) -> pl.Series:
        """Everyone who may have the field `on` because of an earlier send."""
        both = pl.concat([self.members(list_id, field_id), self.pending(list_id, field_id)])
        return both.unique().sort()

    def record_pending(self, list_id: int, field_id: int, emails: pl.Series) -> None:
        """Before sending: remember that these emails are about to be set `on`."""
        union = pl.concat([self.pending(list_id, field_id), emails.alias(EMAIL)]).unique().sort()
        self._write(self.pending_path, list_id, field_id, union)

    def commit(self, list_id: int, field_id: int, members: pl.Series) -> None:
        """After every import of a send succeeded: these are the members now."""
        self._write(self.members_path, list_id, field_id, members.alias(EMAIL).sort())
        self.pending_path.unlink(missing_ok=True)
