"""Listrak flat files: names, formats, compression and splitting. No Dagster inside."""

from listrak_assets.file_names import (
    DEFAULT_TEMPLATES,
    DONE_SUFFIX,
    Compression,
    check_template,
    render,
    variants,
)
from listrak_assets.files.writer import FileOptions, WrittenFile, listrak_frame, write_files

__all__ = [
    "DEFAULT_TEMPLATES",
    "DONE_SUFFIX",
    "Compression",
    "FileOptions",
    "WrittenFile",
    "check_template",
    "listrak_frame",
    "render",
    "variants",
    "write_files",
]
