"""When a destination fed by a host project's assets runs by itself.

In the inbox mode the inbox sensor starts runs (it knows which files changed), so no asset
carries an `AutomationCondition`. A destination fed by upstream assets has no sensor: its raw,
clean and sink assets carry an eager condition instead, so that when the host materializes an
upstream asset, the host's automation sensor (Dagster's default one, run by the daemon)
requests that table's chain down to its sink in one run, with the checks on those assets
riding along (the removal guard among them).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg


def on_upstream_change() -> dg.AutomationCondition:
    """Rebuild and send once an upstream asset is updated, when none of the inputs is
    missing or still being built."""
    return dg.AutomationCondition.eager()


def automated(
    assets: Sequence[dg.AssetsDefinition], condition: dg.AutomationCondition | None
) -> list[dg.AssetsDefinition]:
    """The assets, each carrying `condition` (None: left as they are, for a host that starts
    the destination with its own jobs and schedules)."""
    if condition is None:
        return list(assets)
    return list(
        dg.map_asset_specs(
            lambda spec: spec.replace_attributes(automation_condition=condition), assets
        )
    )
