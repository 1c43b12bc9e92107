"""Where a table's stored files are: one concept, used by the Parquet IO manager that writes
them and by everything that finds them again (local erasure, retention).

A table kept whole is `<warehouse>/<asset key path>.parquet`; a table kept by day
(`orders_by_day`) is a folder of days, `<warehouse>/<asset key path>/<YYYY-MM-DD>.parquet`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from listrak_assets.storage import Location

SUFFIX = ".parquet"
# The key-value metadata in which a stored table records what it was built from (its inputs'
# fingerprint and a few counts), so that any instance sharing the warehouse can tell it is
# current. A rewrite that is not a build (a local erasure, retention) must not keep it.
BUILT_FROM = "listrak_assets.built_from"


def table_file(warehouse: Location, key: Sequence[str], day: str | None = None) -> Location:
    """The file of the table with this asset key path (of one day when `day` is given)."""
    if day is not None:
        return warehouse.joinpath(*key, f"{day}{SUFFIX}")
    return warehouse.joinpath(*key).with_suffix(SUFFIX)


def stored_files(warehouse: Location, key: Sequence[str]) -> list[Location]:
    """Every file stored for the table: the whole table's and each day's, as they exist now."""
    folder = warehouse.joinpath(*key)
    found: Iterable[Location] = folder.glob(f"*{SUFFIX}") if folder.is_dir() else ()
    days = sorted(found, key=str)
    whole = table_file(warehouse, key)
    return [*([whole] if whole.is_file() else []), *(d for d in days if d.is_file())]
