"""A sensor that starts a run when the inbox changes."""

import hashlib

import dagster as dg

from listrak_assets.defs.jobs import refresh_job
from listrak_assets.defs.resources import ListrakSettings
from listrak_assets.inbox.reader import SUFFIXES


def inbox_fingerprint(settings: ListrakSettings) -> str | None:
    """A hash of every input file's name, size and modification time; None when empty."""
    inbox = settings.load().inbox
    if not inbox.is_dir():
        return None
    files = sorted(p for p in inbox.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@dg.sensor(
    job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING
)
def inbox_sensor(context: dg.SensorEvaluationContext, settings: ListrakSettings):
    """Rebuild every table when a file lands in, changes in or leaves the inbox."""
    fingerprint = inbox_fingerprint(settings)
    if fingerprint is None:
        return dg.SkipReason(f"no input files in {settings.load().inbox}")
    if fingerprint == context.cursor:
        return dg.SkipReason("inbox unchanged since the last run")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"inbox-{fingerprint}")], cursor=fingerprint
    )
