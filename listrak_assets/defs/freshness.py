"""Freshness policies: a table whose export stopped arriving, or a sink that stopped sending,
shows as late in the UI instead of going unnoticed.

Dagster's `FreshnessPolicy` (evaluated by the daemon, no sensor needed) on the raw tables,
which the inbox sensor rebuilds when a new export lands, and on the sinks, which publish after
them. The limits are settings read when the definitions load.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg


def freshness_policy(max_age_hours: float | None) -> dg.FreshnessPolicy | None:
    """Late once the asset was not updated for `max_age_hours` (no policy when None)."""
    if max_age_hours is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=max_age_hours))
