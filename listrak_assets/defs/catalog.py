"""What the UI's catalog says about every asset: owners, the channel it feeds and whether it
holds personal data (tags), a code version, the warehouse table it is, how late it may get
(freshness policies on the raw tables and the sinks), and for the sinks the destination's name
and description from `listrak.yaml`.

Applied to the finished asset definitions in one place, so that every asset gets the same
treatment and no asset module has to remember it. The settings used here are read when the
definitions load: changing them takes a reload of the code location.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import dagster as dg

from listrak_assets.defs.freshness import freshness_policy
from listrak_assets.defs.keys import FORGET_REQUESTS_KEY
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.forget import FORGET
from listrak_assets.settings import Settings, SettingsError, load_settings

CHANNEL_TAG = "channel"
PII_TAG = "pii"
# Which channel each table feeds; every other table goes to Listrak as an SFTP file.
CHANNEL_OF = {"email_audience": "email", "sms_audience": "sms"}
WAREHOUSE_GROUPS = ("raw", "clean")


@cache
def code_version() -> str:
    """The installed package's version: a new release marks every table as built by older
    code, so the UI shows what a rebuild would change. Read once: looking it up parses the
    package's metadata, and every asset asks."""
    try:
        return version("listrak-assets")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Catalog:
    """The load-time settings the catalog shows, and how old data may get before the
    freshness checks warn (hours; None: no check)."""

    name: str = "Listrak"
    description: str = ""
    owners: tuple[str, ...] = ("team:data",)
    inputs_max_age_hours: float | None = 26.0
    sinks_max_age_hours: float | None = 26.0

    @classmethod
    def from_settings(cls, path: Path | Settings | None = None) -> Catalog:
        """From the settings file (or settings given inline); the defaults when it can't be
        read (every step that reads the file then fails, naming the problem)."""
        try:
            conf: Settings = path if isinstance(path, Settings) else load_settings(path)
        except SettingsError:
            return cls()
        return cls(
            name=conf.name,
            description=conf.description,
            owners=tuple(conf.owners),
            inputs_max_age_hours=conf.freshness.inputs_max_age_hours,
            sinks_max_age_hours=conf.freshness.sinks_max_age_hours,
        )

    def destination(self) -> str:
        return f"{self.name}: {self.description}" if self.description else self.name


def table_of(spec: dg.AssetSpec) -> str | None:
    """The input table an asset is made from: in its key (raw/customers,
    clean/customers_rejects, listrak/email_audience) or, for a sink, in the clean table it
    reads."""
    name = spec.key.path[-1].removesuffix("_rejects")
    if name in TABLES:
        return name
    for dep in spec.deps:
        if dep.asset_key.path[-2] == "clean" and dep.asset_key.path[-1] in TABLES:
            return dep.asset_key.path[-1]
    return None


def is_erasure(spec: dg.AssetSpec) -> bool:
    """Erasure's own assets: the forget table, the ledger, the Forget requests, retention.
    They run when an erasure arrives, not on a cadence, so they carry no freshness policy."""
    return (
        spec.key.path[-2] == "erasure"
        or spec.key.path[-1].removesuffix("_rejects") == FORGET.name
        or spec.key.path[-1] == FORGET_REQUESTS_KEY.path[-1]
    )


def _describe(spec: dg.AssetSpec, catalog: Catalog) -> dg.AssetSpec:
    table = table_of(spec)
    tags: dict[str, str] = {}
    erasure = is_erasure(spec)
    if erasure:
        tags = {CHANNEL_TAG: "privacy", PII_TAG: "yes"}
    elif table is not None:
        has_pii = any(column.pii for column in TABLES[table].columns)
        tags = {CHANNEL_TAG: CHANNEL_OF.get(table, "file"), PII_TAG: "yes" if has_pii else "no"}
    metadata: dict[str, object] = {}
    description = spec.description
    policy = spec.freshness_policy
    group = spec.key.path[-2]
    if group in WAREHOUSE_GROUPS:
        # The table's name in the warehouse (a Parquet file per table under data/warehouse).
        metadata["dagster/relation_identifier"] = ".".join(spec.key.path)
    if group == "raw" and not erasure:
        policy = freshness_policy(catalog.inputs_max_age_hours)
    elif group == "listrak":
        metadata["destination"] = catalog.name
        if catalog.description:
            metadata["destination_description"] = catalog.description
        description = f"{description or ''} Destination: {catalog.destination()}".strip()
        if not spec.key.path[-1].endswith("_rejects") and not erasure:
            policy = freshness_policy(catalog.sinks_max_age_hours)
    return spec.replace_attributes(
        owners=list(catalog.owners),
        code_version=code_version(),
        description=description,
        freshness_policy=policy,
    ).merge_attributes(tags=tags, metadata=metadata)


def catalogued(assets: list[dg.AssetsDefinition], catalog: Catalog) -> list[dg.AssetsDefinition]:
    """The assets with their owners, tags, code version and catalog metadata."""
    return list(dg.map_asset_specs(lambda spec: _describe(spec, catalog), assets))
