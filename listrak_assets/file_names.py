"""File names: Listrak imports a file by its name, so names are rendered from a template.

A template holds at most one token, `{date}` (the run's date as YYYYMMDD). Splitting a file
adds `_001`, `_002`, ... before the extension; gzip appends `.gz`; zip swaps the extension for
`.zip`. Every name one file can take on one date matches `variants(name)`, which lets a re-run
remove what an earlier run of the same date left under another shape.

Neutral on purpose: the file writer names its parts, the SFTP sink renders and cleans up,
and the settings check their templates, all by these rules.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from typing import Literal

Compression = Literal["none", "gzip", "zip"]
DATE_FORMAT = "%Y%m%d"
DONE_SUFFIX = ".DONE"

# Listrak's predefined names for automatic import (its File Import Guide).
DEFAULT_TEMPLATES: dict[str, str] = {
    "customers": "Listrak_Customer_{date}.csv",
    "products": "Listrak_Product_Feed_{date}.csv",
    "orders": "Listrak_Order_Feed_{date}.csv",
    "order_items": "Listrak_OrderItem_Feed_{date}.csv",
}

_TOKENS = {"date"}


def check_template(template: str) -> str:
    """The template unchanged, or ValueError saying what is wrong with it."""
    if not template.strip():
        raise ValueError("a file name template can't be empty")
    if "/" in template or "\\" in template:
        raise ValueError(f"'{template}' is a path; put the folder in sftp.remote_folder")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as err:
        raise ValueError(f"'{template}' is not a valid template: {err}") from None
    unknown = sorted(set(fields) - _TOKENS)
    if unknown:
        raise ValueError(f"'{template}' has unknown token(s) {unknown}; the only token is {{date}}")
    if template.startswith("."):
        raise ValueError(f"'{template}' starts with a dot: such names are hidden temporary files")
    return template


def render(template: str, date: dt.date) -> str:
    """The file name for `date`."""
    return check_template(template).format(date=date.strftime(DATE_FORMAT))


def _split(name: str) -> tuple[str, str]:
    """(stem, extension with its dot); the extension is empty when the name has none."""
    stem, dot, ext = name.rpartition(".")
    return (stem, dot + ext) if dot and stem else (name, "")


def part_name(name: str, part: int, parts: int) -> str:
    """The name of part `part` (1-based) of `parts`: `_001` before the extension."""
    stem, ext = _split(name)
    width = max(3, len(str(parts)))
    return f"{stem}_{part:0{width}d}{ext}"


def compressed_name(name: str, compression: Compression) -> str:
    """The uploaded name of a CSV file called `name` once compressed."""
    if compression == "gzip":
        return name + ".gz"
    if compression == "zip":
        return _split(name)[0] + ".zip"
    return name


def variants(name: str) -> re.Pattern[str]:
    """Every name a file rendered as `name` can take: split or not, any compression, and its
    `.DONE` marker."""
    stem, ext = _split(name)
    body = rf"{re.escape(stem)}(?:_\d{{3,}})?(?:{re.escape(ext)}(?:\.gz)?|\.zip)"
    return re.compile(rf"{body}(?:{re.escape(DONE_SUFFIX)})?")


def check_distinct(templates: Mapping[str, str]) -> None:
    """ValueError when one file's names could be another's: a re-run removes the other shapes
    of its own file, so it would remove the other file."""
    day = dt.date(2000, 1, 1)
    names = {table: render(template, day) for table, template in templates.items()}
    for table, name in names.items():
        for other, other_name in names.items():
            if other != table and variants(other_name).fullmatch(name):
                raise ValueError(f"{table} and {other} would be uploaded under one name")
