"""`python -m listrak_assets.refresh`: build every table once from the inbox and say where the
results are. The same job the UI's "Materialize all" and the inbox sensor run."""

from __future__ import annotations

import os
import sys

import dagster as dg

from listrak_assets.definitions import defs
from listrak_assets.schemas import TABLES
from listrak_assets.settings import load_settings


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return out


def main() -> int:
    settings = load_settings()
    # With DAGSTER_HOME set the run is kept, so the UI shows it; without it, nothing is kept.
    home = os.environ.get("DAGSTER_HOME")
    instance = dg.DagsterInstance.get() if home else dg.DagsterInstance.ephemeral()
    with instance:
        result = defs.get_job_def("refresh").execute_in_process(
            instance=instance, raise_on_error=False
        )
        meta = _metadata(result)
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
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        for check in failed:
            print(
                f"check {check.asset_key.to_user_string()}:{check.check_name} did not pass "
                f"({check.severity.value})"
            )
        print(
            "\nRejected rows, with file, row, column and reason: "
            f"{settings.warehouse / 'clean'}/<table>_rejects.parquet"
        )
        if not result.success:
            print("\nThe run failed; see the messages above.", file=sys.stderr)
            return 1
        print("Open the UI with `make ui` to see lineage, checks and metadata.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
