"""A sensor that starts a run when a file lands in or changes in the inbox, once it has
settled.

Only new or changed files count: a file that disappears starts nothing (a missing export is
not news to publish). And a file starts nothing until it has stopped changing: its mtime is
older than `inbox_settle_seconds`, so an export copied file by file, or one still being
written, is not read half way. A file already that old is ready at first sight.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from listrak_assets.defs.jobs import refresh_job
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.inbox.reader import SUFFIXES

Seen = dict[str, tuple[int, int]]  # file name -> (size, mtime in ns)


def inbox_files(inbox: Path) -> Seen:
    """Every input file's size and modification time."""
    if not inbox.is_dir():
        return {}
    files = sorted(p for p in inbox.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def fingerprint(files: Seen) -> str:
    """A short hash of the files' names, sizes and modification times: the run key."""
    digest = hashlib.sha256()
    for name, (size, mtime) in sorted(files.items()):
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:16]


def _encode(files: Seen) -> str:
    return json.dumps({name: list(stat) for name, stat in sorted(files.items())})


def _decode(cursor: str | None, files: Seen) -> Seen:
    """The files a cursor had seen. An older cursor was the fingerprint of the whole inbox:
    it still says whether the inbox is as it was."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return dict(files) if cursor == fingerprint(files) else {}
    if not isinstance(data, dict):
        return {}
    return {str(name): (int(stat[0]), int(stat[1])) for name, stat in data.items()}


@dg.sensor(
    job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, settings: ListrakSettings
) -> dg.SkipReason | dg.SensorResult:
    """Rebuild every table when a file lands in or changes in the inbox and has settled."""
    conf = settings.load()
    files = inbox_files(conf.inbox)
    seen = _decode(context.cursor, files)
    changed = sorted(name for name, stat in files.items() if seen.get(name) != stat)
    gone = sorted(set(seen) - set(files))
    if not changed:
        if not files:
            reason = f"no input files in {conf.inbox}"
        else:
            reason = "no new or changed file in the inbox since the last run"
        if gone:
            reason += f" ({', '.join(gone)} left it; a file that disappears starts no run)"
        # Forget the files that left, so one that comes back counts as new.
        return dg.SensorResult(skip_reason=reason, cursor=_encode(files))
    now_ns = time.time_ns()
    settle_ns = int(conf.inbox_settle_seconds * 1e9)
    settling = [name for name in changed if now_ns - files[name][1] < settle_ns]
    if settling:
        # The cursor stays: these files are still new at the next tick.
        return dg.SkipReason(
            f"waiting for {', '.join(settling)} to stop changing (modified less than "
            f"inbox_settle_seconds = {conf.inbox_settle_seconds:g} s ago)"
        )
    context.log.info(f"new or changed in the inbox: {', '.join(changed)}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"inbox-{fingerprint(files)}")],
        cursor=_encode(files),
    )
