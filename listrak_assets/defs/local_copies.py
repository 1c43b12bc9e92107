"""Where one destination keeps its local copies of personal data, and so what its erasure
rewrites.

The inbox mode (no key prefix) owns the whole warehouse, the inbox and the archive. A
destination fed by a host project's assets owns its own tables (`<warehouse>/<prefix>/...`,
where its IO manager writes them), the mirror state of its sinks and an erasure ledger of its
own; the host's upstream assets and their storage are the host's to erase.
"""

from __future__ import annotations

from dataclasses import dataclass

from listrak_assets.defs.keys import Prefix
from listrak_assets.settings import Settings
from listrak_assets.storage import Location

# Where the audience sinks keep their mirror state, under the warehouse (email_sink, sms_sink).
STATE_FOLDER = "state"


def ledger_path(conf: Settings, prefix: Prefix = ()) -> Location:
    """The erasure ledger of the destination with this key prefix: the settings' own for the
    inbox mode, a folder per prefix beside it for every other (`data/erasure/crm/ledger.json`),
    so two destinations sharing one listrak.yaml never share a ledger."""
    ledger = conf.erasure.ledger
    return ledger.parent.joinpath(*prefix, ledger.name)


@dataclass(frozen=True)
class LocalCopies:
    """The folders one destination's local erasure rewrites."""

    warehouse: Location  # the root the table paths below are reported against
    tables: tuple[Location, ...]  # Parquet tables: raw, clean, rejects, the mirror state
    inputs: tuple[Location, ...]  # input files: the inbox and the archive (inbox mode only)

    @classmethod
    def of(cls, conf: Settings, prefix: Prefix = (), inbox: bool = True) -> LocalCopies:
        if inbox or not prefix:
            tables: tuple[Location, ...] = (conf.warehouse,)
        else:
            tables = (conf.warehouse.joinpath(*prefix), conf.warehouse / STATE_FOLDER)
        return cls(conf.warehouse, tables, (conf.inbox, conf.archive) if inbox else ())
