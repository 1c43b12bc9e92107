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
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from listrak_assets.settings import Settings, SettingsError, config_path, load_settings


class _Parsed:
    """What reading the file gave: the settings, or why there are none."""

    __slots__ = ("__weakref__", "outcome")

    def __init__(self, path: Path) -> None:
        self.outcome: Settings | SettingsError
        try:
            self.outcome = load_settings(path)
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
_by_run: weakref.WeakValueDictionary[tuple[str, Path], _Parsed] = weakref.WeakValueDictionary()


def _parsed_for_run(run_id: str, path: Path) -> _Parsed:
    with _lock:
        parsed = _by_run.get((run_id, path))
        if parsed is None:
            parsed = _by_run[run_id, path] = _Parsed(path)
        return parsed


class ListrakSettings(dg.ConfigurableResource):
    """The destination settings file (`listrak.yaml`, or LISTRAK_CONFIG when set), parsed
    once per run."""

    path: str | None = None
    _parsed: _Parsed | None = PrivateAttr(default=None)

    def file(self) -> Path:
        return Path(self.path) if self.path else config_path()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # No teardown on purpose: it would make this a context-manager resource, which a
        # sensor context then has to be opened with `with`.
        run = context.run
        self._parsed = _parsed_for_run(run.run_id, self.file()) if run else _Parsed(self.file())

    def load(self) -> Settings:
        """The parsed settings; SettingsError saying what is wrong with the file."""
        return (self._parsed or _Parsed(self.file())).settings()
