"""The Forget sink: one Privacy API request per person, followed until Listrak says COMPLETE,
then every local copy of them rewritten without them.

A destination fed by a host project's assets rewrites only its own copies (its tables, the
mirror state, its ledger: `local_copies.py`); the host's upstream assets are the host's to
erase, and the asset's metadata says so.

The ledger is saved after each accepted request, so a run that dies half way never submits
those people again; a request still PROCESSING is checked on the next run, never resubmitted.
After a lost answer the person has no request id and is submitted again on the next run
(forgetting twice is harmless and the API offers no lookup).
"""

import datetime as dt
from typing import Any

import dagster as dg
import polars as pl

from listrak_assets.defs.erasure_input import people
from listrak_assets.defs.keys import (
    DEFAULT_RESOURCE_KEYS,
    FORGET_REQUESTS_KEY,
    SUPPRESSION_KEY,
    Prefix,
    ResourceKeys,
    clean_key,
    prefixed,
)
from listrak_assets.defs.local_copies import LocalCopies, ledger_path
from listrak_assets.defs.resources import ListrakErasure, ListrakPrivacyApi
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.erasure.ledger import COMPLETE, PROCESSING, Entry, Ledger, LedgerError, Person
from listrak_assets.erasure.scrub import Erasure, Matcher, scrub_inputs, scrub_warehouse
from listrak_assets.listrak.errors import (
    ListrakApiError,
    ListrakAuthError,
    ListrakConfigError,
    ListrakUnavailable,
)
from listrak_assets.listrak.forget import ForgetApi
from listrak_assets.listrak.http import Stats
from listrak_assets.schemas.forget import FORGET
from listrak_assets.settings import Settings
from listrak_assets.storage import relative
from listrak_assets.suppression import SaltError


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Outcome:
    """Counts of one run, for metadata and the failure message."""

    def __init__(self) -> None:
        self.submitted = 0
        self.unsent = 0  # no answer, or Listrak unavailable: submitted again next run
        self.refused = 0  # Listrak answered an error: submitted again next run
        self.checked = 0
        self.unchecked = 0


def _submit(
    api: ForgetApi,
    ledger: Ledger,
    todo: list[tuple[Person, Entry]],
    outcome: _Outcome,
    log: dg.DagsterLogManager,
) -> None:
    for person, entry in todo:
        try:
            entry.request_id = api.submit(person.email, person.phone)
        except ListrakApiError as err:
            outcome.refused += 1
            log.warning(f"a Forget request was refused: {err}")
            continue
        except ListrakUnavailable as err:
            outcome.unsent += 1
            log.warning(f"a Forget request got no answer: {err}")
            continue
        entry.status, entry.submitted_at = PROCESSING, _now()
        outcome.submitted += 1
        ledger.save()  # before the next request: a crash never loses an accepted id


def _follow(api: ForgetApi, ledger: Ledger, outcome: _Outcome, log: dg.DagsterLogManager) -> None:
    for entry in ledger.people.values():
        if not entry.request_id or entry.status == COMPLETE:
            continue
        try:
            status = api.status(entry.request_id)
        except (ListrakApiError, ListrakUnavailable) as err:
            outcome.unchecked += 1
            log.warning(f"Forget request {entry.request_id} could not be checked: {err}")
            continue
        outcome.checked += 1
        entry.status = status.status
        if status.status == COMPLETE:
            entry.completed_at = status.processed or _now()
    ledger.save()


def _erase_locally(conf: Settings, copies: LocalCopies, ledger: Ledger, salt: str) -> Erasure:
    """Every local copy without the people Listrak accepted a request for."""
    matcher = Matcher(
        ledger.suppression(salt, accepted_only=True),
        conf.default_phone_country,
        conf.phone_validation,
    )
    erasure = Erasure()
    for folder in copies.tables:
        # Each folder on its own, reported against the warehouse (`crm/raw/customers.parquet`).
        found = Erasure()
        scrub_warehouse(folder, matcher, found)
        erasure.origins |= found.origins
        for where, rows in found.removed.items():
            erasure.note(relative(folder / where, copies.warehouse), rows)
    options = {"encoding": conf.encoding, "delimiter": conf.delimiter}
    for folder in copies.inputs:
        # The inbox: raw tables name its files, and the sensor watches it.
        inbox = folder == conf.inbox
        scrub_inputs(folder, matcher, erasure, by_origin=inbox, watched=inbox, **options)
    stamp = _now()
    for entry in ledger.people.values():
        if entry.request_id:
            entry.erased_at = entry.erased_at or stamp
    ledger.save()
    return erasure


def _scope(prefix: Prefix, upstream: dg.AssetKey | None) -> str:
    """What local erasure reaches, for the UI (folder names, no values)."""
    if upstream is None:
        return "the warehouse (tables and mirror state), the inbox and the archive"
    own = "/".join(prefix)
    return (
        f"this destination's own copies only (its tables under <warehouse>/{own}, the mirror "
        "state, its erasure ledger). It does not own the host project's data: the upstream "
        f"assets (`{upstream.to_user_string()}` and those feeding its tables) and their "
        "storage are not touched; erase the person there too"
    )


def build_forget_sink(
    tables: list[str],
    keys: ResourceKeys = DEFAULT_RESOURCE_KEYS,
    prefix: Prefix = (),
    upstream: dg.AssetKey | None = None,
) -> dg.AssetsDefinition:
    """The sink, built after the clean `tables`, so that its local erasure also reaches the
    tables of the run that brought the request. `upstream` is the host project's asset the
    requests come from (None: the inbox)."""
    scope = _scope(prefix, upstream)

    @dg.asset(
        key=prefixed(FORGET_REQUESTS_KEY, prefix),
        group_name="listrak",
        ins={"forget": dg.AssetIn(key=clean_key(FORGET.name, prefix))},
        deps=[prefixed(SUPPRESSION_KEY, prefix), *(clean_key(t, prefix) for t in tables)],
        kinds={"listrak"},
        required_resource_keys={keys.settings, keys.erasure, keys.listrak_privacy},
        metadata={"local_erasure": scope},
        description="One Forget request to Listrak's Privacy API per person of clean/forget, "
        "followed until COMPLETE; then every local copy is rewritten without them: "
        f"{scope}.",
    )
    def listrak_forget_requests(
        context: dg.AssetExecutionContext, forget: pl.DataFrame
    ) -> dg.MaterializeResult:
        settings: ListrakSettings = getattr(context.resources, keys.settings)
        erasure: ListrakErasure = getattr(context.resources, keys.erasure)
        listrak_privacy: ListrakPrivacyApi = getattr(context.resources, keys.listrak_privacy)
        conf = settings.load()
        copies = LocalCopies.of(conf, prefix, inbox=upstream is None)
        outcome, stats = _Outcome(), Stats()
        removed = Erasure()
        try:
            ledger = Ledger.read(ledger_path(conf, prefix))
            wanted = people(forget)
            if not wanted and not ledger.people:
                return dg.MaterializeResult(metadata={"people": 0, "forget_requests_sent": 0})
            salt = erasure.checked_salt()
            ledger.check_salt(salt)
            todo = [(p, ledger.entry(p, salt)) for p in wanted]
            unsent = [(p, e) for p, e in todo if not e.request_id]
            waiting = any(e.request_id and e.status != COMPLETE for e in ledger.people.values())
            if unsent or waiting:
                with listrak_privacy.open(stats=stats) as api:
                    _submit(api, ledger, unsent, outcome, context.log)
                    _follow(api, ledger, outcome, context.log)
            accepted_now = any(e.request_id for _, e in todo)
            if accepted_now or any(
                e.request_id and not e.erased_at for e in ledger.people.values()
            ):
                removed = _erase_locally(conf, copies, ledger, salt)
        except (SaltError, LedgerError, ListrakConfigError, ListrakAuthError) as err:
            raise dg.Failure(description=str(err), allow_retries=False) from None
        entries = list(ledger.people.values())
        metadata: dict[str, Any] = {
            "people": len(entries),
            "people_in_requests_file": len(wanted),
            "forget_requests_sent": outcome.submitted,
            "already_submitted": len(todo) - len(unsent),
            "not_sent": outcome.unsent + outcome.refused,
            "status_checks": outcome.checked,
            "processing": sum(e.status == PROCESSING for e in entries),
            "complete": sum(e.status == COMPLETE for e in entries),
            "rows_removed": removed.rows,
            # Where rows were removed and how many: file paths and counts only, no values.
            "rows_removed_by_file": dg.MetadataValue.json(removed.removed),
            "local_erasure": scope,
            "requests": dg.MetadataValue.json(stats.as_dict()),
        }
        if outcome.unsent or outcome.refused:
            raise dg.Failure(
                description=f"{outcome.unsent + outcome.refused} Forget request(s) did not "
                "land (see the log); those people stay suppressed and are submitted again "
                "on the next run",
                metadata=metadata,
                allow_retries=False,
            )
        return dg.MaterializeResult(metadata=metadata)

    return listrak_forget_requests
