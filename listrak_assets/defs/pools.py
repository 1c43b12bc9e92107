"""Concurrency pools: one publisher per Listrak destination at a time.

Each sink runs in its destination's pool; the instance's `dagster.yaml` (the repository's, which
`make demo` and `make ui` install) gives every pool one slot, so while one run's sink of a
destination publishes, another run's sink of that destination waits instead of sending the same
contacts and rewriting the same state and files. Email, SMS and SFTP are separate pools: they
write to different places, and a long SMS sync need not hold up the files.

A run whose process is killed keeps its slot until the run is marked failed and the slot freed.
Under `dagster dev` the code server marks it failed and the run-monitoring daemon frees the
slot. A run executed in the process that started it (`make demo`) has nobody watching it:
`make demo` tags its runs with this machine's name (`host_tags()`) and, before it starts, calls
`release_orphaned_slots`, which does both for such runs of this machine.
"""

import socket

import dagster as dg

from listrak_assets.processes import alive

EMAIL_POOL = "listrak_email"
SMS_POOL = "listrak_sms"
SFTP_POOL = "listrak_sftp"
POOLS = (EMAIL_POOL, SMS_POOL, SFTP_POOL)
HOST_TAG = "listrak/host"


def host_tags() -> dict[str, str]:
    """Tags for a run executed in this process: where its process lives."""
    return {HOST_TAG: socket.gethostname()}


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process that executed the run's steps, as Dagster recorded it (its last engine event
    carrying a pid), or None."""
    pid = None
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        data = event.engine_event_data if event else None
        value = data.metadata.get("pid") if data else None
        if value is not None:
            pid = int(str(value.value))
    return pid


def release_orphaned_slots(instance: dg.DagsterInstance) -> list[str]:
    """Free the pool slots held by runs of this machine (`host_tags()`) that can no longer free
    them: runs that have ended, and runs whose process is gone (marked failed first, saying
    why). Runs of other machines are left to their own monitoring. The ids of the runs whose
    slots were freed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    here = host_tags()[HOST_TAG]
    released = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.tags.get(HOST_TAG) != here:
            continue
        if not run.is_finished:
            pid = worker_pid(instance, run_id)
            if pid is None or alive(pid):
                continue  # still starting, or still running
            instance.report_run_failed(
                run,
                message=f"The process that ran this run (pid {pid}) is gone; it was killed. "
                "Marked failed so that its concurrency pool slots are freed.",
            )
        storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released
