"""Forgotten people who come back in a later export: their local copies go in the same run.

Cleaning already keeps them from Listrak (reject reason `forgotten`), but the new input file,
its raw table and the rejects would hold them until the next erasure. So after the clean
tables, every table whose rejects this run list anyone as `forgotten` has its raw, clean and
rejects tables and its inbox files rewritten without the people Listrak accepted a Forget
request for, as the Forget requests' own local erasure does (the others follow once their
request is accepted). The rejects keep the masked `forgotten` lines, which account for the
rows that went. A rewritten inbox file is noted, so the sensor starts no run for it.
"""

import dagster as dg

from listrak_assets.cleaning.table import FORGOTTEN
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.resources import ListrakErasure
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.erasure.ledger import Ledger, LedgerError
from listrak_assets.erasure.scrub import Erasure, Matcher, scrub_files, scrub_tables
from listrak_assets.inbox.reader import find_files
from listrak_assets.stored_tables import stored_files
from listrak_assets.suppression import SaltError

REAPPEARANCES_KEY = dg.AssetKey(["erasure", "reappearances"])
REJECTS_BY_REASON = "rejects_by_reason"  # the clean assets' rejects metadata


def forgotten_this_run(context: dg.AssetExecutionContext, table: str) -> bool:
    """Whether this run built the table's rejects and they drop anyone as `forgotten` (read
    from the materialization's counts, not from the data)."""
    records = context.instance.fetch_materializations(rejects_key(table), limit=1).records
    if not records or records[0].run_id != context.run.run_id:
        return False
    materialization = records[0].asset_materialization
    counts = materialization.metadata.get(REJECTS_BY_REASON) if materialization else None
    value = counts.value if counts is not None else None
    return isinstance(value, dict) and bool(value.get(FORGOTTEN))


def build_reappearance_asset(tables: list[str]) -> dg.AssetsDefinition:
    """Local erasure for the forgotten people found again in `tables` (it runs after their
    rejects, so it is part of every table's chain)."""

    @dg.asset(
        key=REAPPEARANCES_KEY,
        group_name="erasure",
        deps=[rejects_key(t) for t in tables],
        kinds={"parquet"},
        description="Forgotten people found again in this run's exports (reject reason "
        "`forgotten`): the raw, clean and rejects tables and the inbox files of those tables "
        "rewritten without them, once Listrak accepted their Forget request.",
    )
    def erasure_reappearances(
        context: dg.AssetExecutionContext, settings: ListrakSettings, erasure: ListrakErasure
    ) -> dg.MaterializeResult:
        conf = settings.load()
        found = [t for t in tables if forgotten_this_run(context, t)]
        removed = Erasure()
        if found:
            try:
                ledger = Ledger.read(conf.erasure.ledger)
                salt = erasure.checked_salt()
                ledger.check_salt(salt)
            except (SaltError, LedgerError) as err:
                raise dg.Failure(description=str(err), allow_retries=False) from None
            matcher = Matcher(
                ledger.suppression(salt, accepted_only=True),
                conf.default_phone_country,
                conf.phone_validation,
            )
            if matcher.suppression:
                keys = [k(t) for t in found for k in (raw_key, clean_key, rejects_key)]
                # A table kept by day is a folder of days (defs/days.py): every day's file.
                scrub_tables(
                    [p for k in keys for p in stored_files(conf.warehouse, k.path)],
                    conf.warehouse,
                    matcher,
                    removed,
                    keep_forgotten=True,
                )
                scrub_files(
                    [p for t in found for p in find_files(conf.inbox, t)],
                    conf.inbox,
                    matcher,
                    removed,
                    by_origin=True,
                    watched=True,
                    encoding=conf.encoding,
                    delimiter=conf.delimiter,
                )
        if removed.rows:
            context.log.info(
                f"forgotten people found again in {', '.join(found)}: {removed.rows} rows "
                "removed from the local copies"
            )
        return dg.MaterializeResult(
            metadata={
                "tables_with_forgotten_people": dg.MetadataValue.json(found),
                "rows_removed": removed.rows,
                # Where rows were removed and how many: file paths and counts only, no values.
                "rows_removed_by_file": dg.MetadataValue.json(removed.removed),
            }
        )

    return erasure_reappearances
