"""Jobs."""

import dagster as dg

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Read the inbox and rebuild every table, its rejects and its checks.",
)
