"""Matches a file's header row to a table's columns.

A header finds one of Listrak's columns by `names.column_key` (`First Name`, `first_name` ->
`firstname`), or through the `columns:` mapping; an audience keeps any other column as an
attribute under its own name, which the sinks match to a profile field by `names.name_key`.
Two headers that would land in one column fail the file, naming both: keeping one would drop
the other's values without a word.

A header that looks like an email address or a phone number is a customer's data, not a
column name: the file's header row is missing. Such a file fails before anything quotes its
first line, and every header quoted in a message is masked when PII is restricted (one that
matched no column down to its first character, as it may be a value).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.inbox.errors import InputFileError
from listrak_assets.names import column_key, name_key
from listrak_assets.privacy import mask_text, mask_value
from listrak_assets.schemas.spec import TableSpec

_LONGEST = 60  # characters of a header quoted in a message
_MOST_LISTED = 20  # headers listed in a "found:" message


@dataclass(frozen=True)
class ColumnMatch:
    """Where each kept header goes, by its position in the file."""

    chosen: dict[int, str]  # position -> raw column name
    headers: list[str]  # every header as written ("" for a column without a name)
    ignored: list[str]  # headers left out (a column without a name as "(column N)")


def header_label(header: str, restrict_pii: bool) -> str:
    """A header as messages, logs and metadata quote it: shortened, and with anything that
    looks like an email address or phone number masked when PII is restricted."""
    text = header if len(header) <= _LONGEST else header[:_LONGEST] + "..."
    return mask_text(text) if restrict_pii else text


def looks_like_data(header: str) -> bool:
    """A header holding an email address or a phone number (what masking would hide)."""
    return mask_text(header) != header


def _found(headers: Sequence[str], known: Collection[int], restrict_pii: bool) -> str:
    """The headers of a file that lacks a required column. Without a header row its first
    line is a customer's data, so with PII restricted a header that matched nothing shows
    only its first character."""
    shown = [
        header_label(h, restrict_pii) if i in known or not restrict_pii else mask_value(h)
        for i, h in enumerate(headers[:_MOST_LISTED])
    ]
    more = len(headers) - _MOST_LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _reject_data_row(file: str, headers: Sequence[str], restrict_pii: bool) -> None:
    for position, header in enumerate(headers, start=1):
        if looks_like_data(header):
            raise InputFileError(
                file,
                f"the first line looks like a data row, not a header: column {position} "
                f"('{header_label(header, restrict_pii)}') holds an email address or phone "
                "number; add the header row",
                line=1,
            )


def _target(
    key: str,
    header: str,
    spec: TableSpec,
    mapping: Mapping[str, str],
    updated_at: str,
) -> str | None:
    """The raw column a header goes to, or None when it is left out."""
    listrak = {column_key(n): n for n in spec.column_names}
    if key in mapping:
        return mapping[key]
    if key in listrak:
        return listrak[key]
    if key == column_key(updated_at):
        return UPDATED_AT
    if spec.keep_extra_columns and key:
        return header.strip()
    return None


def match_columns(
    file: str,
    headers: Sequence[str | None],
    spec: TableSpec,
    mapping: Mapping[str, str],
    updated_at: str,
    restrict_pii: bool = True,
) -> ColumnMatch:
    """Each header's raw column; fails on a missing header row, two headers for one column,
    a header named like a bookkeeping column, or a missing required column."""
    names = [h or "" for h in headers]
    _reject_data_row(file, names, restrict_pii)
    by_key = {column_key(k): v for k, v in mapping.items()}
    chosen: dict[int, str] = {}
    ignored: list[str] = []
    for position, header in enumerate(names):
        target = _target(column_key(header), header, spec, by_key, updated_at)
        if target is None:
            ignored.append(header if header.strip() else f"(column {position + 1})")
            continue
        if name_key(target) in (SOURCE_FILE, SOURCE_ROW, UPDATED_AT) and target != UPDATED_AT:
            raise InputFileError(
                file,
                f"column '{header_label(header, restrict_pii)}' has a name the pipeline keeps "
                "for itself; rename it with `columns:` in listrak.yaml",
                line=1,
            )
        _refuse_clash(file, names, chosen, position, target, restrict_pii)
        chosen[position] = target
    _require(file, names, spec, chosen, restrict_pii)
    return ColumnMatch(chosen, names, ignored)


def _refuse_clash(
    file: str,
    names: Sequence[str],
    chosen: Mapping[int, str],
    position: int,
    target: str,
    restrict_pii: bool,
) -> None:
    """Two headers for one column (for attributes: one profile field) fail the file."""
    for earlier, other in chosen.items():
        if name_key(other) != name_key(target):
            continue
        first = header_label(names[earlier], restrict_pii)
        second = header_label(names[position], restrict_pii)
        if names[earlier] == names[position]:
            problem = (
                f"column '{first}' appears twice (columns {earlier + 1} and {position + 1}); "
                "drop one or rename it in the file"
            )
        else:
            problem = (
                f"columns '{first}' and '{second}' both map to "
                f"'{header_label(target, restrict_pii)}'; drop one or rename it with "
                "`columns:` in listrak.yaml"
            )
        raise InputFileError(file, problem, line=1)


def _require(
    file: str,
    names: Sequence[str],
    spec: TableSpec,
    chosen: Mapping[int, str],
    restrict_pii: bool,
) -> None:
    present = set(chosen.values())
    for required in spec.required:
        fallback = spec.fallbacks.get(required)
        if required not in present and (fallback is None or fallback not in present):
            raise InputFileError(
                file,
                f"required column '{required}' is missing (found: "
                f"{_found(names, chosen, restrict_pii)}); if it has another name, map it under "
                f"`columns: {spec.name}:` in listrak.yaml",
                line=1,
                column=required,
            )
