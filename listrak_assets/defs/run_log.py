"""Where a command-line run's Dagster events go: every event to a log file, and to the terminal
only one line per stage and the reason of any step that failed.

Dagster's console logger prints about 200 DEBUG lines per run and a stack trace around every
failure; on the command line that buries the one paragraph that says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg

from listrak_assets.defs.failures import failure_text

# What each stage of the pipeline does, in the words a progress line uses.
STAGES = {
    "raw": "Reading the inbox",
    "clean": "Cleaning and validating",
    "check": "Checking references and removal guards",
    "listrak": "Publishing",
}
LOG_FORMAT = "%(asctime)s - %(levelname)s - %(message)s"


def stages_of(defs: dg.Definitions) -> dict[str, str]:
    """Each step's stage: the first part of its asset keys (`raw`, `clean`, `listrak`), or
    `check` for a step that only runs checks."""
    stages: dict[str, str] = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if not assets_def.is_executable:
            continue
        keys = list(assets_def.keys)
        stages[assets_def.node_def.name] = keys[0].path[0] if keys else "check"
    return stages


class _Progress(logging.Handler):
    """Prints a stage's line when its first step starts, and each failed step's reason."""

    def __init__(self, stages: Mapping[str, str], say: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self._stages = stages
        self._say = say
        self._seen: set[str] = set()
        self._count = {s: sum(1 for v in stages.values() if v == s) for s in STAGES}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        step = event.step_key
        if event.event_type == dg.DagsterEventType.STEP_START:
            stage = self._stages.get(step)
            if stage in STAGES and stage not in self._seen:
                self._seen.add(stage)
                steps = self._count[stage]
                self._say(f"{STAGES[stage]} ({steps} step{'s' * (steps != 1)})")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            self._say(f"  {step} failed: {failure_text(event.event_specific_data)}")


def quiet_logger(
    log_file: Path, stages: Mapping[str, str], say: Callable[[str], None] = print
) -> dg.LoggerDefinition:
    """A logger that writes every event to `log_file` and shows progress through `say`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)

    def build(_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("listrak_assets.run", logging.DEBUG)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(to_file)
        logger.addHandler(_Progress(stages, say))
        return logger

    return dg.LoggerDefinition(build, description="event log to a file, progress to the terminal")
