"""Asset keys, read as places: raw/<table>, clean/<table>, clean/<table>_rejects."""

import dagster as dg


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def clean_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", table])


def rejects_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", f"{table}_rejects"])
