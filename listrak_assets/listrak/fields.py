"""Matching audience columns to Listrak profile fields, for both channels.

Listrak names compare without regard to case or surrounding spaces (`names.name_key`, the
rule the inbox reader also uses for attribute columns), and where two fields'
names differ only in case the oldest (lowest id) wins. What happens to a column without a
field is the settings' `unmatched_columns` policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from listrak_assets.names import name_key as name_key  # the matcher both channels import

# What to do with an audience column that has no profile field: refuse the send, leave the
# column out (with a warning), or create the field (where the API can).
Policy = Literal["fail", "warn", "create"]


@dataclass(frozen=True)
class ProfileField:
    """A profile (segmentation) field, as the Email and SMS APIs both describe it."""

    field_id: int
    name: str
    data_type: str
    max_length: int | None  # None: no length given
    position: int = 0  # the Email API's order within a field group

    @classmethod
    def of(cls, data: dict[str, Any]) -> ProfileField:
        """From one item of a field listing (either API)."""
        length = data.get("maxLength")
        return cls(
            int(data["segmentationFieldId"]),
            str(data.get("segmentationFieldName") or ""),
            str(data.get("dataType") or ""),
            int(length) if length is not None else None,
            int(data.get("position") or 0),
        )


def same_name(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def fields_by_name(fields: Iterable[ProfileField]) -> dict[str, ProfileField]:
    """Fields under their `name_key`; among names that differ only in case, the oldest."""
    return {name_key(f.name): f for f in sorted(fields, key=lambda f: -f.field_id)}


@dataclass(frozen=True)
class FieldMatch:
    mapped: dict[str, ProfileField]  # audience column -> its field, in column order
    unmatched: list[str]  # columns without a field, in column order


def match_fields(
    columns: Iterable[str],
    fields: Iterable[ProfileField],
    policy: Policy,
    refuse: Callable[[list[str]], Exception],
) -> FieldMatch:
    """Each column's field; `refuse(unmatched)` is raised when some have none and the policy
    is `fail`. Creating fields for the rest is the caller's (only the Email API can)."""
    names = list(columns)
    index = fields_by_name(fields)
    mapped = {c: index[name_key(c)] for c in names if name_key(c) in index}
    unmatched = [c for c in names if c not in mapped]
    if unmatched and policy == "fail":
        raise refuse(unmatched)
    return FieldMatch(mapped, unmatched)


def values_body(values: dict[int, str]) -> list[dict[str, object]]:
    """Profile values as both APIs take them in a contact."""
    return [{"segmentationFieldId": k, "value": v} for k, v in values.items()]
