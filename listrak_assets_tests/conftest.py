"""Fixtures: a throwaway inbox, settings file and Dagster instance per test, and a runner
that materializes the real assets through Dagster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from listrak_assets.definitions import defs
from listrak_assets.defs.email_sink import removal_guard as email_guard
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import (
    ListrakEmailApi,
    ListrakErasure,
    ListrakPrivacyApi,
    ListrakSettings,
    ListrakSftp,
    ListrakSmsApi,
    ParquetIOManager,
)
from listrak_assets.defs.sms_sink import removal_guard as sms_guard
from listrak_assets.inbox import find_files, read_table
from listrak_assets.schemas import TABLES
from listrak_assets.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
# The repository's dagster.yaml (pools of one slot, run monitoring, no telemetry): every test's
# instance has the configuration `make demo` and `make ui` run with.
INSTANCE_CONFIG: dict[str, object] = yaml.safe_load((REPO / "dagster.yaml").read_text())
# The Listrak emulator and client fixtures (`emulator`, `email_api`); the SFTP servers
# (`sftp_server`, `sshd_server`, `sandbox_server`).
pytest_plugins = ["listrak_assets_tests.listrak_fixtures", "listrak_assets_tests.sftp_servers"]


@dataclass
class Workspace:
    """An inbox, a warehouse and a listrak.yaml under one temporary folder."""

    root: Path
    instance: dg.DagsterInstance

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def config(self) -> Path:
        return self.root / "listrak.yaml"

    def settings(self, **overrides: object) -> None:
        data = yaml.safe_load((REPO / "listrak.yaml").read_text())
        data.update(inbox="inbox", warehouse="warehouse")
        data.update(overrides)
        self.config.write_text(yaml.safe_dump(data))

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.inbox / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def resources(self) -> dict[str, object]:
        settings = ListrakSettings(path=str(self.config))
        return {
            "settings": settings,
            "io_manager": ParquetIOManager(settings=settings),
            # Unconfigured: `materialize` leaves the file sinks out; their tests pass their own.
            "sftp": ListrakSftp(),
            # Likewise for the email sink; its tests point one at the emulator.
            "listrak_email": ListrakEmailApi(),
            "listrak_sms": ListrakSmsApi(),
            # Erasure: its tests pass a salt and an API pointed at the emulator.
            "listrak_privacy": ListrakPrivacyApi(),
            "erasure": ListrakErasure(),
        }

    def materialize(self, *tables: str) -> dg.ExecuteInProcessResult:
        """Materialize the raw and clean assets of `tables` with their own checks, or every
        asset and check when no table is named (but the `listrak` sinks and their removal
        guards, whose tests start the servers they send to)."""
        assets = list(defs.assets or [])
        selection = dg.AssetSelection.all() - dg.AssetSelection.groups("listrak")
        cross_table_checks = [
            c for c in defs.asset_checks or [] if c not in (email_guard, sms_guard)
        ]
        if tables:
            keys = [k for t in tables for k in (raw_key(t), clean_key(t), rejects_key(t))]
            selection = dg.AssetSelection.assets(*keys)
            cross_table_checks = []  # they read tables that this run doesn't build
        return dg.materialize(
            [*assets, *cross_table_checks],
            selection=selection,
            resources=self.resources(),
            instance=self.instance,
            raise_on_error=False,
        )

    def clean(self, table: str) -> pl.DataFrame:
        return pl.read_parquet(self.warehouse / "clean" / f"{table}.parquet")

    def rejects(self, table: str) -> pl.DataFrame:
        return pl.read_parquet(self.warehouse / "clean" / f"{table}_rejects.parquet")

    def raw(self, table: str) -> pl.DataFrame:
        return pl.read_parquet(self.warehouse / "raw" / f"{table}.parquet")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as instance:
        ws = Workspace(tmp_path, instance)
        ws.inbox.mkdir()
        ws.settings()
        yield ws


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """The description of every failed step, as the UI shows it."""
    messages = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            user = data.user_failure_data
            messages.append(user.description if user and user.description else data.error.message)
    return messages


def check_results(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """Check evaluations by (asset key path, check name)."""
    return {
        ("/".join(e.asset_key.path), e.check_name): e for e in result.get_asset_check_evaluations()
    }


def materialization(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict[str, object]:
    """The metadata of the asset's materialization, as plain values."""
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key == key:
            return {k: v.value for k, v in mat.metadata.items()}
    raise AssertionError(f"{key.to_user_string()} was not materialized")


def raw_table(inbox: Path, table: str) -> pl.DataFrame:
    """The raw table of `table`'s files in `inbox`, read with the repository's column mapping
    (which names the generator's and the sample's headers, `Phone Number` and the like)."""
    mapping = load_settings(REPO / "listrak.yaml").columns.get(table, {})
    return read_table(TABLES[table], find_files(inbox, table), mapping=mapping).frame
