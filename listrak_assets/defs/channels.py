"""Which publishing channels the definitions hold: `email.enabled`, `sms.enabled` and
`sftp.enabled` in listrak.yaml, read when the code location loads.

A channel that is off is left out of the definitions entirely (its sinks, its guard check,
and for an audience its raw and clean tables), so a destination without SMS never fails on
a missing SMS file. Changing a switch takes a reload of the code location.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from listrak_assets.defs import email_sink, sms_sink
from listrak_assets.defs.alerts import run_failure_alerts
from listrak_assets.defs.archive import inbox_archive_sensor
from listrak_assets.defs.catalog import Catalog, catalogued
from listrak_assets.defs.checks import REFERENTIAL_CHECKS
from listrak_assets.defs.clean import CLEAN_ASSETS, build_clean_asset
from listrak_assets.defs.days import days_of
from listrak_assets.defs.erasure_input import FORGET_CLEAN, FORGET_RAW, erasure_suppression
from listrak_assets.defs.forget_sink import build_forget_sink
from listrak_assets.defs.jobs import publish_jobs, refresh_job
from listrak_assets.defs.keys import DEFAULT_RESOURCE_KEYS, clean_key, raw_key
from listrak_assets.defs.raw import RAW_ASSETS, build_raw_asset
from listrak_assets.defs.reappearances import build_reappearance_asset
from listrak_assets.defs.resources import resources
from listrak_assets.defs.retention import build_retention_asset
from listrak_assets.defs.schedules import nightly_schedule
from listrak_assets.defs.sensors import inbox_sensor
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.defs.sftp_sinks import FILE_ASSETS, FILE_SINKS, build_file_sink
from listrak_assets.schemas import TABLES
from listrak_assets.settings import NightlySchedule, Settings, SettingsError, load_settings


@dataclass(frozen=True)
class Channels:
    """The channels switched on."""

    email: bool = True
    sms: bool = True
    sftp: bool = True

    @classmethod
    def from_settings(cls, path: Path | Settings | None = None) -> Channels:
        """The switches in the settings file (or in settings given inline). A file that
        can't be read switches nothing off: every step that reads it then fails with the
        message naming the problem."""
        try:
            conf = path if isinstance(path, Settings) else load_settings(path)
        except SettingsError:
            return cls()
        return cls(email=conf.email.enabled, sms=conf.sms.enabled, sftp=conf.sftp.enabled)

    def tables(self) -> list[str]:
        """The tables to build: the audience tables only for their channel."""
        off = {
            table
            for table, on in (
                (email_sink.EMAIL.audience, self.email),
                (sms_sink.SMS.audience, self.sms),
            )
            if not on
        }
        return [t for t in TABLES if t not in off]


def build_definitions(
    channels: Channels,
    nightly: NightlySchedule | None = None,
    *,
    catalog: Catalog | None = None,
    executor: dg.ExecutorDefinition = dg.in_process_executor,
    by_day: bool = False,
) -> dg.Definitions:
    """The assets, checks, jobs, sensors and resources of the switched-on channels, the
    nightly schedule when one is given, described for the UI's catalog (owners, tags,
    destination) and watched by freshness checks. With `by_day`, orders and order items are
    kept by export day (`defs/days.py`)."""
    catalog = catalog or Catalog()
    tables = channels.tables()
    sinks: list[dg.AssetsDefinition] = []
    guards: list[dg.AssetChecksDefinition] = []
    if channels.email:
        sinks.append(email_sink.listrak_email_audience)
        guards.append(email_sink.removal_guard)
    if channels.sms:
        sinks.append(sms_sink.listrak_sms_audience)
        guards.append(sms_sink.removal_guard)
    raw_assets, clean_assets, file_sinks = RAW_ASSETS, CLEAN_ASSETS, FILE_SINKS
    if by_day:
        raw_assets = [build_raw_asset(TABLES[t], days_of(t)) for t in TABLES]
        clean_assets = [build_clean_asset(TABLES[t], partitions=days_of(t)) for t in TABLES]
        file_sinks = [build_file_sink(t, partitions=days_of(t)) for t in FILE_ASSETS]
    if channels.sftp:
        sinks.extend(file_sinks)
    jobs = [refresh_job, *publish_jobs(channels.email, channels.sms, channels.sftp)]
    publish_all = next((j for j in jobs if j.name == "publish_all"), None)
    schedules = [nightly_schedule(nightly, publish_all, by_day)] if nightly and publish_all else []
    return dg.Definitions(
        assets=catalogued(
            [
                *(a for a in raw_assets if any(raw_key(t) in a.keys for t in tables)),
                *(a for a in clean_assets if any(clean_key(t) in a.keys for t in tables)),
                *sinks,
                # Erasure is on whatever the channels: a request must reach every copy.
                FORGET_RAW,
                FORGET_CLEAN,
                erasure_suppression,
                build_forget_sink(tables),
                build_reappearance_asset(tables),
                build_retention_asset([*tables, "forget"]),
            ],
            catalog,
        ),
        asset_checks=[*REFERENTIAL_CHECKS, *guards],
        jobs=jobs,
        schedules=schedules,
        sensors=[inbox_sensor, inbox_archive_sensor, run_failure_alerts],
        resources=resources(DEFAULT_RESOURCE_KEYS, ListrakSettings()),
        # `execution` in listrak.yaml (defs/executor.py): one process per run by default.
        executor=executor,
    )
