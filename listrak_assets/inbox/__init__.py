"""Reading raw input files from the inbox folder."""

from listrak_assets.inbox.errors import InputFileError
from listrak_assets.inbox.reader import RawFile, RawTable, find_files, read_table

__all__ = ["InputFileError", "RawFile", "RawTable", "find_files", "read_table"]
