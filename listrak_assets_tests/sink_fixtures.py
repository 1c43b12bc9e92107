"""What the audience-sink tests share: an API resource pointed at the emulator, a run of the
real assets through Dagster, and the check that a sink failed before writing anything."""

from __future__ import annotations

from typing import TypeVar

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSmsApi
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets_tests.conftest import Workspace, failure_messages

Api = TypeVar("Api", ListrakEmailApi, ListrakSmsApi)


def api_resource(cls: type[Api], emulator: Emulator, **changes: object) -> Api:
    """The resource of one Listrak integration, on the emulator, backoff in milliseconds."""
    creds = emulator.credentials[cls.INTEGRATION]
    fields: dict[str, object] = {
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "api_url": emulator.api_url,
        "auth_url": emulator.auth_url,
        "retry_attempts": 8,
        "backoff_seconds": 0.001,
        "max_backoff_seconds": 0.01,
    }
    return cls(**{**fields, **changes})


def materialize(
    workspace: Workspace,
    keys: list[dg.AssetKey],
    tags: dict[str, str] | None = None,
    checks: bool = False,
    **resources: object,
) -> dg.ExecuteInProcessResult:
    """Materialize `keys` of the real definitions, with these resources over the workspace's
    (and these run tags); with `checks`, their asset checks run too (the removal guards among
    them)."""
    return dg.materialize(
        [*(defs.assets or []), *((defs.asset_checks or []) if checks else [])],
        selection=dg.AssetSelection.assets(*keys),
        resources={**workspace.resources(), **resources},
        instance=workspace.instance,
        raise_on_error=False,
        tags=tags,
    )


def failed_before_writing(result: dg.ExecuteInProcessResult, emulator: Emulator) -> str:
    """The one failure message of a run that failed before any write reached Listrak."""
    assert not result.success
    [message] = failure_messages(result)
    assert emulator.writes == 0
    return message
