"""Asset keys, read as places: raw/<table>, clean/<table>, clean/<table>_rejects, and
erasure's own."""

from __future__ import annotations

from dataclasses import dataclass, fields

import dagster as dg

# Everyone an erasure was filed for (salted hashes): every clean table but the erasure
# input's own is built after it.
SUPPRESSION_KEY = dg.AssetKey(["erasure", "suppression"])
RETENTION_KEY = dg.AssetKey(["erasure", "retention"])
FORGET_REQUESTS_KEY = dg.AssetKey(["listrak", "forget_requests"])


Prefix = tuple[str, ...]
"""What goes in front of every key of one destination: () for this repo's own, a name of its
own for each destination added to another Dagster project."""


def raw_key(table: str, prefix: Prefix = ()) -> dg.AssetKey:
    return dg.AssetKey([*prefix, "raw", table])


def clean_key(table: str, prefix: Prefix = ()) -> dg.AssetKey:
    return dg.AssetKey([*prefix, "clean", table])


def rejects_key(table: str, prefix: Prefix = ()) -> dg.AssetKey:
    return dg.AssetKey([*prefix, "clean", f"{table}_rejects"])


def prefixed(key: dg.AssetKey, prefix: Prefix) -> dg.AssetKey:
    return dg.AssetKey([*prefix, *key.path])


def op_name(name: str, prefix: Prefix) -> str:
    """A step's name, unique among destinations: `listrak_a_clean_customers`."""
    return "_".join([*prefix, name])


# The part of the default API resource names that a prefix already says.
_OWN = "listrak_"


@dataclass(frozen=True)
class ResourceKeys:
    """The names a destination's resources go by in the Definitions: a second destination,
    or a host project with its own `io_manager` or `settings`, needs names of its own."""

    settings: str = "settings"
    io_manager: str = "io_manager"
    listrak_email: str = "listrak_email"
    listrak_sms: str = "listrak_sms"
    listrak_privacy: str = "listrak_privacy"
    erasure: str = "erasure"
    sftp: str = "sftp"

    @classmethod
    def prefixed(cls, prefix: str) -> ResourceKeys:
        """Every default name with `prefix` in front, said once: `listrak_b_` gives
        `listrak_b_sftp` and `listrak_b_email` (not `listrak_b_listrak_email`), `listrak_`
        gives `listrak_settings` and `listrak_email`."""
        names = {f.name: str(f.default).removeprefix(_OWN) for f in fields(cls)}
        return cls(**{field: f"{prefix}{name}" for field, name in names.items()})

    def of(self, name: str) -> str:
        """The key the resource with the default name `name` goes by."""
        key: str = getattr(self, name)
        return key


DEFAULT_RESOURCE_KEYS = ResourceKeys()
