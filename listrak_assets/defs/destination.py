"""One Listrak destination as Dagster definitions: the factory this repo's own code location
and other teams' Dagster projects both build from.

Two input modes. By default the raw tables read the inbox folder (this repo's pipeline, with
its sensors, jobs and schedule). Given `inputs` (which upstream asset feeds which Listrak
table), a host project's assets replace the inbox: each mapped table's raw step takes the
upstream asset's value, and only the channels whose tables are mapped are built; a mapped
`forget` brings the erasure chain, which erases the destination's own copies only. Cleaning,
checks, sinks and resources are the same code either way. A key prefix and resource keys of
its own let a destination sit beside the host's assets, its `io_manager`, or a second
destination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from listrak_assets.defs import email_sink, sms_sink
from listrak_assets.defs.audience_sink import audience_sink
from listrak_assets.defs.automation import automated, on_upstream_change
from listrak_assets.defs.catalog import Catalog, catalogued
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.checks import referential_checks
from listrak_assets.defs.clean import build_clean_asset
from listrak_assets.defs.days import by_day_from_settings
from listrak_assets.defs.erasure_input import build_suppression_asset
from listrak_assets.defs.executor import executor_from_settings
from listrak_assets.defs.forget_sink import build_forget_sink
from listrak_assets.defs.keys import DEFAULT_RESOURCE_KEYS, Prefix, ResourceKeys, clean_key
from listrak_assets.defs.raw import build_upstream_raw_asset
from listrak_assets.defs.removal_guard import removal_guard_check
from listrak_assets.defs.resources import resources
from listrak_assets.defs.schedules import nightly_from_settings
from listrak_assets.defs.settings import settings_resource, settings_source
from listrak_assets.defs.sftp_sinks import FILE_ASSETS, build_file_sink
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.forget import FORGET
from listrak_assets.settings import Settings

# The tables an upstream asset can feed: every Listrak table, and the erasure requests.
UPSTREAM_TABLES = (*TABLES, FORGET.name)


def listrak_definitions(
    inputs: Mapping[str, dg.AssetKey | str | Sequence[str]] | None = None,
    *,
    settings: Path | str | Mapping[str, Any] | Settings | None = None,
    key_prefix: Sequence[str] = (),
    resource_keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    automation_condition: dg.AutomationCondition | None = on_upstream_change(),  # noqa: B008
) -> dg.Definitions:
    """A Listrak destination. `inputs` maps Listrak tables to upstream asset keys (None: read
    the inbox); `settings` is the listrak.yaml to use (None: LISTRAK_CONFIG or ./listrak.yaml);
    a key is an AssetKey, a path or a string as the UI shows it (`shop/customers`);
    `key_prefix` goes in front of every asset key it makes; `resource_keys` names its
    resources; `columns` maps upstream column names to Listrak's, per table (default: the
    settings file's `columns:`). Settings may also be given as a mapping (listrak.yaml's
    keys, checked as the file is; relative folders against the working directory) or as
    checked `Settings`. `automation_condition` goes on every asset an upstream-fed
    destination makes (default: eager; None: the host's own jobs start it)."""
    path = settings_source(settings)
    if inputs is None:
        if tuple(key_prefix) or resource_keys != DEFAULT_RESOURCE_KEYS:
            raise ValueError(
                "a key prefix and resource keys of its own need `inputs`: the inbox mode's "
                "sensors and jobs use the default names"
            )
        if isinstance(path, Settings):
            raise ValueError("settings given inline need `inputs`: the inbox mode reads a file")
        return build_definitions(
            Channels.from_settings(path),
            nightly_from_settings(path),
            catalog=Catalog.from_settings(path),
            executor=executor_from_settings(path),
            by_day=by_day_from_settings(path),
        )
    return _from_upstream(
        {table: _as_key(key) for table, key in inputs.items()},
        path,
        tuple(key_prefix),
        resource_keys,
        columns or {},
        automation_condition,
    )


def _as_key(key: dg.AssetKey | str | Sequence[str]) -> dg.AssetKey:
    """An asset key from a key, its path, or its string as the UI shows it (`shop/customers`)."""
    if isinstance(key, str):
        return dg.AssetKey.from_user_string(key)
    return dg.AssetKey.from_coercible(key)


def _from_upstream(
    inputs: Mapping[str, dg.AssetKey],
    path: Path | Settings | None,
    prefix: tuple[str, ...],
    keys: ResourceKeys,
    columns: Mapping[str, Mapping[str, str]],
    automation_condition: dg.AutomationCondition | None,
) -> dg.Definitions:
    unknown = sorted(set(inputs) - set(UPSTREAM_TABLES))
    if unknown:
        raise ValueError(
            f"no Listrak table called {', '.join(unknown)}: inputs can feed "
            f"{', '.join(UPSTREAM_TABLES)}"
        )
    switches = Channels.from_settings(path)
    tables = [t for t in TABLES if t in inputs]
    # With an erasure input every other table rejects the forgotten (after the ledger).
    forget = inputs.get(FORGET.name)
    assets: list[dg.AssetsDefinition] = []
    for table in tables:
        spec, mapping = TABLES[table], columns.get(table)
        assets.append(build_upstream_raw_asset(spec, inputs[table], keys, mapping, prefix))
        assets.append(
            build_clean_asset(spec, suppress=forget is not None, keys=keys, prefix=prefix)
        )
    if forget is not None:
        assets.extend(_erasure(forget, tables, keys, prefix, columns.get(FORGET.name)))
    checks: list[dg.AssetChecksDefinition] = []
    for channel, on in ((email_sink.EMAIL, switches.email), (sms_sink.SMS, switches.sms)):
        if on and channel.audience in inputs:
            assets.append(audience_sink(channel, keys, inbox=False, prefix=prefix))
            checks.append(removal_guard_check(channel, keys, inbox=False, prefix=prefix))
    if switches.sftp:
        assets.extend(
            build_file_sink(t, keys, inbox=False, prefix=prefix) for t in FILE_ASSETS if t in inputs
        )
    built = {clean_key(t, prefix) for t in tables}
    checks.extend(
        c for c in referential_checks(prefix) if set(c.keys_by_input_name.values()) <= built
    )
    # Only the resources its steps use: a name it never needs can't collide with the host's.
    used = {keys.settings, keys.io_manager}
    for definition in (*assets, *checks):
        used |= definition.required_resource_keys
    every = resources(keys, settings_resource(path))
    return dg.Definitions(
        assets=catalogued(automated(assets, automation_condition), Catalog.from_settings(path)),
        asset_checks=checks,
        resources={key: value for key, value in every.items() if key in used},
    )


def _erasure(
    upstream: dg.AssetKey,
    tables: list[str],
    keys: ResourceKeys,
    prefix: Prefix,
    mapping: Mapping[str, str] | None,
) -> list[dg.AssetsDefinition]:
    """The erasure chain fed by the host's asset: its raw and clean tables, the
    destination's own ledger (suppression) and its Forget requests, which erase this
    destination's own copies."""
    return [
        build_upstream_raw_asset(FORGET, upstream, keys, mapping, prefix),
        # Not suppressed: a request for someone already forgotten must still reach the ledger.
        build_clean_asset(FORGET, suppress=False, keys=keys, prefix=prefix),
        build_suppression_asset(keys, prefix),
        build_forget_sink(tables, keys, prefix, upstream=upstream),
    ]
