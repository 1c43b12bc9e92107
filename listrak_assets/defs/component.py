"""The Listrak destination as a `dg` component, for Dagster projects that already have their
own customer tables. A `defs.yaml` such as

    type: listrak_assets.defs.component.ListrakComponent
    attributes:
      inputs: {customers: shop/customers, email_audience: shop/subscribers}
      settings: listrak.yaml      # or the settings themselves, inline: {warehouse: ..., ...}
      key_prefix: [listrak]
      resource_keys: {io_manager: listrak_io_manager, settings: listrak_settings}

builds what `listrak_definitions` builds from the same values (see that function).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from listrak_assets.defs.automation import on_upstream_change
from listrak_assets.defs.destination import listrak_definitions
from listrak_assets.defs.keys import ResourceKeys
from listrak_assets.settings import Settings, inline_settings


class ListrakComponent(dg.Component, dg.Resolvable, dg.Model):
    """A Listrak destination fed by the project's own assets."""

    inputs: dict[str, str]
    """Listrak table -> the upstream asset key that feeds it (`shop/customers`)."""
    settings: str | dict[str, Any] | None = None
    """The listrak.yaml to use, relative to this defs.yaml's folder (default: LISTRAK_CONFIG,
    else ./listrak.yaml); or the settings themselves, a mapping of listrak.yaml's keys checked
    as the file is (relative folders against this defs.yaml's folder)."""
    key_prefix: list[str] = []
    """Put in front of every asset key the destination makes."""
    resource_keys: dict[str, str] = {}
    """Default resource name -> the name this destination's resource goes by."""
    columns: dict[str, dict[str, str]] = {}
    """Per table: upstream column -> Listrak column (default: the settings' `columns:`)."""
    automate: bool = True
    """Rebuild and send when an upstream asset is updated (an eager automation condition on
    every asset the destination makes); false: the project's own jobs and schedules do."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        settings: Path | Settings | None = None
        if isinstance(self.settings, dict):
            origin = f"{context.path / 'defs.yaml'}: settings"
            settings = inline_settings(self.settings, context.path, origin)
        elif self.settings is not None:
            settings = Path(self.settings)
            if not settings.is_absolute():
                settings = context.path / settings
        return listrak_definitions(
            dict(self.inputs),
            settings=settings,
            key_prefix=self.key_prefix,
            resource_keys=ResourceKeys(**self.resource_keys),
            columns=self.columns,
            automation_condition=on_upstream_change() if self.automate else None,
        )
