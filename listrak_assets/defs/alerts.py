"""Run-failure alerts: a failed run leaves a short summary (which assets, the reason, what to
do) in its own event log and as a file under `alerts/` beside the warehouse (`data/alerts/`).

One file per failed run, named by the run's id and written atomically, so whatever watches
the folder (a mail script, a chat hook) sees each failure once and never half a file. Reasons
are masked when PII is restricted: an error message can quote a value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from listrak_assets.defs.failures import failure_text, what_to_do
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.privacy import mask_text
from listrak_assets.settings import SettingsError
from listrak_assets.storage import Location, write_bytes

ALERTS_FOLDER = "alerts"
# Where alerts go when the settings can't be read: beside the default warehouse.
FALLBACK_FOLDER = Path("data") / ALERTS_FOLDER


def _assets_of(context: dg.RunFailureSensorContext, step_key: str) -> list[str]:
    """The assets (or checks) a step builds, as the UI names them; the step's own name when
    the definitions are not at hand."""
    repository = context.repository_def
    if repository is not None:
        for assets_def in repository.asset_graph.assets_defs:
            if assets_def.is_executable and assets_def.node_def.name == step_key:
                keys = [k.to_user_string() for k in assets_def.keys]
                checks = [k.to_user_string() for k in assets_def.check_keys]
                return keys or checks
    return [step_key]


def summary(context: dg.RunFailureSensorContext, restrict_pii: bool) -> str:
    """The alert's text: the run, then per failed step its assets, reason and what to do."""
    run = context.dagster_run
    lines = [f"Run {run.run_id} of job {run.job_name} failed."]
    steps = context.get_step_failure_events()
    for event in steps:
        reason = failure_text(event.event_specific_data)
        if restrict_pii:
            reason = mask_text(reason)
        step = event.step_key or "?"
        lines += [
            "",
            f"Assets: {', '.join(_assets_of(context, step))} (step {step})",
            f"Error: {reason}",
            f"What to do: {what_to_do(reason)}",
        ]
    if not steps:
        # The run failed before any step did (a resource, the launch itself).
        reason = context.failure_event.message or "no reason given"
        reason = mask_text(reason) if restrict_pii else reason
        lines += ["", f"Error: {reason}", f"What to do: {what_to_do(reason)}"]
    return "\n".join(lines) + "\n"


def write_alert(folder: Location, run_id: str, text: str) -> Location:
    """`<folder>/<run id>.txt`, written whole or not at all."""
    target = folder / f"{run_id}.txt"
    write_bytes(target, text.encode("utf-8"))
    return target


@dg.run_failure_sensor(
    name="run_failure_alerts",
    description="Writes a short summary of each failed run to its event log and to alerts/.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_alerts(context: dg.RunFailureSensorContext, settings: ListrakSettings) -> None:
    try:
        conf = settings.load()
        folder, restrict_pii = conf.warehouse.parent / ALERTS_FOLDER, conf.restrict_pii
    except SettingsError:
        folder, restrict_pii = FALLBACK_FOLDER, True
    text = summary(context, restrict_pii)
    path = write_alert(folder, context.dagster_run.run_id, text)
    context.instance.report_engine_event(
        f"{text}\nThis summary is also in {path} ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC).",
        dagster_run=context.dagster_run,
    )
    context.log.info(f"alert for run {context.dagster_run.run_id} written to {path}")
