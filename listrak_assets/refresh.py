"""`python -m listrak_assets.refresh`: build every table from the inbox, publish them, and say
where everything went. The same job the UI's "Materialize all" and the inbox sensor run.

Without Listrak settings in the environment, it publishes to local stand-ins: the Listrak
emulator (email audience) and a sandbox SFTP server serving `outbox/sftp/` beside the
warehouse folder (`data/outbox/sftp/` by default; the four commerce files), so the whole
pipeline runs without an account.

A step whose inputs did not change since its last run (with `DAGSTER_HOME` kept, as `make
demo` does) re-does and re-sends nothing; `--force` re-does everything.

The terminal gets a line per stage, any failed step's reason and the summary; Dagster's full
event log goes to `logs/refresh_<run id>.log` beside the warehouse folder (`data/logs/`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import dagster as dg

from listrak_assets.defs.run_log import quiet_logger, stages_of
from listrak_assets.defs.unchanged import FORCE_TAG, UNCHANGED
from listrak_assets.schemas import TABLES
from listrak_assets.settings import Settings, load_settings

# The summary's columns of each sink's metadata.
SINK_FIELDS = (
    "remote_path", "rows", "bytes", "members_added", "members_kept", "members_removed",
    "subscribed", "unsubscribed", "updated", "skipped", "requests", "dry_run",
    "people", "forget_requests_sent", "processing",
)  # fmt: skip


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return out


@contextmanager
def _destinations(settings: Settings) -> Iterator[list[str]]:
    """Start the local stand-ins for what the environment doesn't point at; yield what was
    started, in words. Each stand-in is imported only when it is started: with a real
    account, or stand-ins already running, their imports would be most of a quiet run's
    start-up."""
    started: list[str] = []
    with ExitStack() as stack:
        if not os.environ.get("LISTRAK_API_URL"):
            from listrak_assets.sandbox.emulator import run_emulator

            emulator = stack.enter_context(
                run_emulator(
                    lists=[settings.list_name],
                    sender_code=settings.sms.sender_code,
                    phone_lists=[settings.sms.phone_list],
                )
            )
            os.environ.update(emulator.env())
            started.append(f"Listrak emulator at {emulator.api_url} (list {settings.list_name!r})")
        if not os.environ.get("LISTRAK_SFTP_HOST"):
            from listrak_assets.sandbox.sftp_server import run_sandbox_sftp

            root = settings.warehouse.parent / "outbox" / "sftp"
            sftp = stack.enter_context(run_sandbox_sftp(root))
            os.environ.update(sftp.env())
            started.append(f"sandbox SFTP server on port {sftp.port} serving {root}")
        yield started


def _print_tables(settings: Settings, meta: dict[str, dict[str, object]]) -> None:
    print(f"\nInbox:     {settings.inbox}\nWarehouse: {settings.warehouse}\n")
    print(f"{'table':<16}{'raw':>9}{'clean':>9}{'rejected':>10}{'merged':>8}  clean table")
    for table in TABLES:
        raw = meta.get(f"raw/{table}", {})
        clean = meta.get(f"clean/{table}", {})
        print(
            f"{table:<16}{raw.get('dagster/row_count', '-'):>9}"
            f"{clean.get('dagster/row_count', '-'):>9}{clean.get('rejected_rows', '-'):>10}"
            f"{clean.get('merged_duplicates', '-'):>8}  {clean.get('path', '(not built)')}"
        )
    print(
        "\nRejected rows, with file, row, column and reason: "
        f"{settings.warehouse / 'clean'}/<table>_rejects.parquet"
    )


def _attributes(values: dict[str, object]) -> str | None:
    """An audience sink's attribute columns and the profile fields they went to (`column ->
    field` where the names differ), and how many of those fields the run created."""
    mapped = values.get("mapped_columns")
    if not isinstance(mapped, dict) or not mapped:
        return None
    created = values.get("created")
    new = created.get("attribute_fields") if isinstance(created, dict) else None
    fields = ", ".join(c if c == f else f"{c} -> {f}" for c, f in mapped.items())
    return f"    attributes sent to profile fields: {fields} ({len(new or [])} created by this run)"


def _print_sinks(meta: dict[str, dict[str, object]]) -> None:
    sinks = {k: v for k, v in meta.items() if k.startswith("listrak/")}
    if not sinks:
        return
    print("\nPublished:")
    for key, values in sorted(sinks.items()):
        if key.endswith("_rejects"):
            continue
        shown = {k: v for k, v in values.items() if k in SINK_FIELDS}
        # An unchanged sink carries its last send's figures: say that nothing went this time.
        note = " (unchanged: nothing sent by this run)" if UNCHANGED in values else ""
        print(f"  {key}: " + ", ".join(f"{k}={v}" for k, v in shown.items()) + note)
        attributes = _attributes(values)
        if attributes:
            print(attributes)


def _print_checks(result: dg.ExecuteInProcessResult) -> None:
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            reason = f": {check.description}" if check.description else ""
            print(
                f"check {check.asset_key.to_user_string()}:{check.check_name} did not pass "
                f"({check.severity.value}){reason}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-do every step, even those whose inputs did not change since their last run",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    # With DAGSTER_HOME set the run is kept, so the UI shows it; without it, nothing is kept.
    home = os.environ.get("DAGSTER_HOME")
    instance = dg.DagsterInstance.get() if home else dg.DagsterInstance.ephemeral()
    with _destinations(settings) as started, instance:
        for line in started:
            print(f"Publishing to the {line}")
        # Imported here: the resources read the environment the stand-ins just set.
        from listrak_assets.definitions import defs
        from listrak_assets.defs.pools import host_tags, release_orphaned_slots

        # A demo killed earlier left its pool slots taken: nothing else would free them.
        for run_id in release_orphaned_slots(instance):
            print(f"Freed the pool slots of run {run_id}, whose process was gone")
        run_id = str(uuid.uuid4())
        log_file = settings.warehouse.parent / "logs" / f"refresh_{run_id}.log"
        job = defs.resolve_job_def("refresh").with_logger_defs(
            {"quiet": quiet_logger(log_file, stages_of(defs))}
        )
        result = job.execute_in_process(
            # Only the loggers named in the run config are started: this one, not the console's.
            run_config={"loggers": {"quiet": {}}},
            instance=instance,
            raise_on_error=False,
            tags={**host_tags(), **({FORCE_TAG: "true"} if args.force else {})},
            run_id=run_id,
            # With orders kept by day, today's (UTC) partition: undated exports are today's.
            partition_key=dt.datetime.now(dt.UTC).date().isoformat()
            if job.partitions_def
            else None,
        )
        meta = _metadata(result)
        _print_tables(settings, meta)
        _print_sinks(meta)
        _print_checks(result)
        print(f"\nDagster's event log of this run: {log_file}")
        if started:
            print(
                "\nNo Listrak account was configured, so everything went to local stand-ins. "
                "To publish for real, set the LISTRAK_* variables listed in the README."
            )
    if not result.success:
        print("\nThe run failed; the reason is above, every event in the log.", file=sys.stderr)
        return 1
    print("Open the UI with `make ui` to see lineage, checks and metadata.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
