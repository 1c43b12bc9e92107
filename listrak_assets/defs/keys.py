"""Asset keys, read as places: raw/<table>, clean/<table>, clean/<table>_rejects, and
erasure's own."""

import dagster as dg

# Everyone an erasure was filed for (salted hashes): every clean table but the erasure
# input's own is built after it.
SUPPRESSION_KEY = dg.AssetKey(["erasure", "suppression"])
RETENTION_KEY = dg.AssetKey(["erasure", "retention"])
FORGET_REQUESTS_KEY = dg.AssetKey(["listrak", "forget_requests"])


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def clean_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", table])


def rejects_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", f"{table}_rejects"])
