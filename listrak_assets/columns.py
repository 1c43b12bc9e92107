"""Bookkeeping columns of a raw table: where each row came from and how new it is.

The inbox reader adds them, cleaning reads them, and the Dagster layer describes them; the
names live here so that none of those packages has to import another for a constant.
"""

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
UPDATED_AT = "_updated_at"
