"""The settings resource: `listrak.yaml` parsed once per run and handed to every asset, check
and IO call of that run.

The rule: in a run, the file is read when the run's resources are set up, so every step sees
the same settings and an edit applies from the next run. A sensor's resources are set up for
each evaluation, so a tick reads the file once. A resource that was never set up (a script
or a test calling it directly) reads the file at each `load()`, so a long-lived object never
serves stale settings. A bad file does not stop the run from starting: it fails the step
that uses the settings, with the message naming the key.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from listrak_assets.settings import (
    Settings,
    SettingsError,
    config_path,
    inline_settings,
    load_settings,
)


class _Parsed:
    """What reading the file gave: the settings, or why there are none."""

    __slots__ = ("__weakref__", "outcome")

    def __init__(self, read: Callable[[], Settings]) -> None:
        self.outcome: Settings | SettingsError
        try:
            self.outcome = read()
        except SettingsError as err:
            self.outcome = err

    def settings(self) -> Settings:
        if isinstance(self.outcome, SettingsError):
            raise SettingsError(str(self.outcome))
        return self.outcome


# Dagster sets up its own copy of a resource nested in another one (the IO manager's
# settings) beside the top-level copy. Keyed by run, every copy gets the one parse, which
# lives as long as a copy holds it.
_lock = threading.Lock()
_by_run: weakref.WeakValueDictionary[tuple[str, Path | str], _Parsed] = (
    weakref.WeakValueDictionary()
)


class ListrakSettings(dg.ConfigurableResource):
    """The destination settings file (`listrak.yaml`, or LISTRAK_CONFIG when set), parsed
    once per run; or settings given inline (`inline`, checked settings as JSON, as
    `of` makes them), for a destination whose settings sit in its component's YAML."""

    path: str | None = None
    inline: str | None = None
    _parsed: _Parsed | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, settings: Settings) -> ListrakSettings:
        """A resource serving these settings (already checked, folders already absolute)."""
        return cls(inline=settings.model_dump_json())

    def file(self) -> Path:
        return Path(self.path) if self.path else config_path()

    def _source(self) -> Path | str:
        return self.inline if self.inline is not None else self.file()

    def _read(self) -> Settings:
        if self.inline is not None:
            return Settings.model_validate_json(self.inline)
        return load_settings(self.file())

    def _parsed_for_run(self, run_id: str) -> _Parsed:
        with _lock:
            parsed = _by_run.get((run_id, self._source()))
            if parsed is None:
                parsed = _by_run[run_id, self._source()] = _Parsed(self._read)
            return parsed

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # No teardown on purpose: it would make this a context-manager resource, which a
        # sensor context then has to be opened with `with`.
        run = context.run
        self._parsed = self._parsed_for_run(run.run_id) if run else _Parsed(self._read)

    def load(self) -> Settings:
        """The parsed settings; SettingsError saying what is wrong with the file."""
        return (self._parsed or _Parsed(self._read)).settings()


def settings_source(
    settings: Path | str | Mapping[str, Any] | Settings | None,
) -> Path | Settings | None:
    """Where a destination's settings come from: a file's path (None: LISTRAK_CONFIG or
    ./listrak.yaml), or settings given inline, checked here exactly as a file's are (relative
    folders against the working directory), so a bad key fails when the definitions load."""
    if settings is None or isinstance(settings, Settings | Path):
        return settings
    if isinstance(settings, str):
        return Path(settings)
    return inline_settings(settings, Path.cwd(), "inline settings")


def settings_resource(source: Path | Settings | None) -> ListrakSettings:
    """The settings resource serving a destination's settings."""
    if isinstance(source, Settings):
        return ListrakSettings.of(source)
    return ListrakSettings(path=str(source) if source else None)
