"""The executor of every job: `execution` in listrak.yaml, read when the code location loads.

In-process by default: the steps are short and polars already uses every core, so a process
per step costs more than it saves on one machine. `multiprocess` gives each step a process of
its own, at most `max_concurrent` at once, the bound that keeps the tables held in memory
within the machine (the tables travel between steps as Parquet files in the warehouse).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from listrak_assets.settings import Execution, SettingsError, load_settings


def executor_from_settings(path: Path | None = None) -> dg.ExecutorDefinition:
    """The configured executor. A file that can't be read keeps the default: every step that
    reads it then fails with the message naming the problem."""
    try:
        execution = load_settings(path).execution
    except SettingsError:
        execution = Execution()
    if execution.executor == "multiprocess":
        # A forkserver that has imported this code location once forks each step from it,
        # rather than a new interpreter importing Dagster and the definitions per step.
        return dg.multiprocess_executor.configured(
            {"max_concurrent": execution.max_concurrent, "start_method": {"forkserver": {}}},
            name="multiprocess",
        )
    return dg.in_process_executor
