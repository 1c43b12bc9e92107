"""Erasure requests in: `forget*.csv` (or, for a destination fed by a host project, an
upstream asset with `email` and/or `phone`) read and cleaned like every table, and the
suppression list (the erasure ledger) brought up to date before any other table is cleaned."""

import dagster as dg
import polars as pl

from listrak_assets.defs.clean import build_clean_asset
from listrak_assets.defs.keys import (
    DEFAULT_RESOURCE_KEYS,
    SUPPRESSION_KEY,
    Prefix,
    ResourceKeys,
    clean_key,
    prefixed,
)
from listrak_assets.defs.local_copies import ledger_path
from listrak_assets.defs.raw import build_raw_asset
from listrak_assets.defs.resources import ListrakErasure
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.erasure.ledger import Ledger, LedgerError, Person
from listrak_assets.schemas.forget import FORGET
from listrak_assets.suppression import SaltError

FORGET_RAW = build_raw_asset(FORGET)
# Not suppressed: a request for someone already forgotten must still reach the ledger.
FORGET_CLEAN = build_clean_asset(FORGET, suppress=False)


def people(forget: pl.DataFrame) -> list[Person]:
    """The people of the clean erasure table (normalised email and/or phone)."""
    return [Person(email, phone) for email, phone in forget.select("email", "phone").iter_rows()]


def build_suppression_asset(
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS, prefix: Prefix = ()
) -> dg.AssetsDefinition:
    """The destination's suppression list, in the ledger of its own (`ledger_path`)."""

    @dg.asset(
        key=prefixed(SUPPRESSION_KEY, prefix),
        group_name="erasure",
        ins={"forget": dg.AssetIn(key=clean_key(FORGET.name, prefix))},
        kinds={"json"},
        required_resource_keys={keys.settings, keys.erasure},
        description="Everyone an erasure was filed for, as salted hashes of their email and "
        "phone (the erasure ledger): every other clean table rejects them as `forgotten`.",
    )
    def _suppression(
        context: dg.AssetExecutionContext, forget: pl.DataFrame
    ) -> dg.MaterializeResult:
        settings: ListrakSettings = getattr(context.resources, keys.settings)
        erasure: ListrakErasure = getattr(context.resources, keys.erasure)
        conf = settings.load()
        path = ledger_path(conf, prefix)
        try:
            ledger = Ledger.read(path)
            wanted = people(forget)
            new = 0
            if wanted or ledger.people:
                salt = erasure.checked_salt()
                ledger.check_salt(salt)
                known = set(ledger.people)
                for person in wanted:
                    ledger.entry(person, salt)
                new = len(set(ledger.people) - known)
                if new or not path.is_file():
                    ledger.save()
        except (SaltError, LedgerError) as err:
            raise dg.Failure(description=str(err), allow_retries=False) from None
        if new:
            context.log.info(f"{new} new people to forget; they are no longer sent")
        return dg.MaterializeResult(
            metadata={
                "people": len(ledger.people),
                "new_people": new,
                "awaiting_request": sum(not e.request_id for e in ledger.people.values()),
                "ledger": dg.MetadataValue.path(str(path)),
            }
        )

    return _suppression


erasure_suppression = build_suppression_asset()
