"""Forgetting a person everywhere: the Forget request through the Privacy API (emulator), the
local copies rewritten without them, and later exports that bring them back dropped as
`forgotten`."""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from listrak_assets.definitions import defs
from listrak_assets.defs.keys import (
    FORGET_REQUESTS_KEY,
    SUPPRESSION_KEY,
    clean_key,
    raw_key,
    rejects_key,
)
from listrak_assets.defs.resources import (
    ListrakEmailApi,
    ListrakErasure,
    ListrakPrivacyApi,
    ListrakSmsApi,
)
from listrak_assets.erasure.ledger import Ledger
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.suppression import SALT_ENV
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.sink_fixtures import api_resource

REPO = Path(__file__).resolve().parents[1]
SALT = "erasure-test-salt-0123456789abcdef"
EMAIL = "forget.me@example.org"
PHONE = "12158880142"  # +1 215 888 0142
NATIONAL = PHONE[1:]

# One person in every input table that can hold them, each written the way exports do.
PERSON_ROWS = {
    "customers.csv": " Forget.Me@Example.org ,19999999,+1 (215) 888-0142,31/31/1990,F,Fiona,"
    "Gone,1 Erased Way,,Philadelphia,PA,19103,US,true,2024-01-01T00:00:00Z",
    "orders.csv": "0599999999,2024-01-01T10:00:00Z,forget.me@example.org,19999999,10.00,0.00,"
    "0.00,10.00,8,,,FedEx 2Day,2024-01-02T00:00:00Z",
    "order_items.csv": "0599999999,100018-rust,8,1,10.00,10.00,10.00,2024-01-02T00:00:00Z",
    "email_audience.csv": "FORGET.ME@example.org,Fiona,Gone,Gold,Outdoor,2024-01-01T00:00:00Z",
    "sms_audience.csv": "(215) 888-0142,false,forget.me@example.org,Fiona,Gold,"
    "2024-01-01T00:00:00Z",
}
FORGET_FILE = "email,phone\nForget.Me@example.org,215.888.0142\n"


def _mentions(value: str) -> bool:
    """Whether one value is the person's email or phone, in any spelling."""
    return EMAIL in value.lower() or NATIONAL in re.sub(r"\D", "", value)


def _json_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return [value] if isinstance(value, str) else []


def traces(root: Path) -> list[str]:
    """Every file under `root` that holds the person's email or phone: Parquet decoded, JSON
    walked, CSV and text files field by field."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            values = [str(v) for c in frame.columns for v in frame[c].to_list() if v is not None]
        elif path.suffix == ".json":
            values = _json_strings(json.loads(path.read_text()))
        else:
            text = path.read_bytes().decode("utf-8", "replace")
            values = [f for row in csv.reader(io.StringIO(text, newline="")) for f in row]
        if any(_mentions(v) for v in values):
            found.append(str(path.relative_to(root)))
    return found


def _append(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n", encoding="utf-8")


def _sent(emulator: Emulator) -> list[str]:
    """Everything the emulator received: paths, queries and every string of every body,
    base64 file contents decoded."""
    out = []
    for request in emulator.requests:
        out += [request.path, request.query]
        if request.body:
            try:
                strings = _json_strings(json.loads(request.body))
            except (json.JSONDecodeError, UnicodeDecodeError):
                strings = [request.body.decode("utf-8", "replace")]
            for s in strings:
                out.append(s)
                with contextlib.suppress(binascii.Error, ValueError):
                    out.append(base64.b64decode(s, validate=True).decode("utf-8", "replace"))
    return out


def _origins(workspace: Workspace) -> set[tuple[str, int]]:
    rejects = workspace.rejects("customers")
    return set(rejects.select("source_file", "source_row").iter_rows())


def _forget_posts(emulator: Emulator) -> int:
    return sum(
        r.method == "POST" and r.path == "/privacy/v1/Forget" and r.status == 201
        for r in emulator.requests
    )


class Everything:
    """Every asset and check, against the emulator and the sandbox SFTP server."""

    def __init__(self, workspace: Workspace, emulator: Emulator, sftp: SftpServer) -> None:
        self.workspace = workspace
        self.remote, self.sftp_folder = sftp.folder("erasure")
        workspace.settings(
            business_user_access={"allow_limited_pii": True},
            sftp={"remote_folder": self.remote},
        )
        self.resources = {
            **workspace.resources(),
            "listrak_email": api_resource(ListrakEmailApi, emulator),
            "listrak_sms": api_resource(ListrakSmsApi, emulator),
            "listrak_privacy": api_resource(ListrakPrivacyApi, emulator),
            "sftp": sftp.resource(),
            "erasure": ListrakErasure(salt=SALT),
        }

    def run(self) -> dg.ExecuteInProcessResult:
        result = dg.materialize(
            [*(defs.assets or []), *(defs.asset_checks or [])],
            resources=self.resources,
            instance=self.workspace.instance,
            raise_on_error=False,
        )
        assert result.success, failure_messages(result)
        return result


def test_a_person_is_forgotten_everywhere_and_never_sent_again(
    workspace: Workspace, emulator: Emulator, sandbox_server: SftpServer
) -> None:
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    for name, line in PERSON_ROWS.items():
        _append(workspace.inbox / name, line)
    archived = workspace.root / "data" / "archive" / "2026-11-30" / "customers.csv"
    archived.parent.mkdir(parents=True)
    header = (workspace.inbox / "customers.csv").read_text().splitlines()[0]
    archived.write_text(f"{header}\n{PERSON_ROWS['customers.csv']}\n")
    everything = Everything(workspace, emulator, sandbox_server)

    everything.run()
    # The person reached every place: Listrak, the warehouse, the mirror state, the inputs.
    assert EMAIL in emulator.email.list_named("Newsletter").contacts
    [code] = emulator.sms.sender_codes.values()
    [phone_list] = code.lists
    assert PHONE in emulator.sms.members(code.sender_code_id, phone_list)
    before = traces(workspace.root)
    for place in (
        "inbox/customers.csv",
        "raw/customers",
        "clean/orders",
        "state/email_audience_members",
        "state/sms_audience_members",
        "data/archive",
    ):
        assert any(place in t for t in before), (place, before)

    # Their row's blanked birthday, in the rejects with the value as written (PII shown).
    their_row = ("customers.csv", workspace.raw("customers")["_source_row"].max())
    assert their_row in _origins(workspace)

    workspace.write("forget.csv", FORGET_FILE)
    result = everything.run()
    assert their_row not in _origins(workspace)
    assert _forget_posts(emulator) == 1
    assert traces(workspace.root) == []
    meta = materialization(result, FORGET_REQUESTS_KEY)
    assert meta["forget_requests_sent"] == 1 and meta["complete"] == 1
    removed = meta["rows_removed_by_file"]
    assert isinstance(removed, dict)
    for place in (
        "raw/customers.parquet",
        "inbox/customers.csv",
        "archive/2026-11-30/customers.csv",
    ):
        assert removed[place] == 1, removed
    assert meta["rows_removed"] == sum(removed.values())
    assert not any(_mentions(str(k)) for k in removed)
    # Inputs were rewritten, not emptied: everyone else is still there.
    assert workspace.raw("customers").height > 10
    assert (workspace.inbox / "forget.csv").read_text() == "email,phone\n"

    # A re-run submits nothing new.
    everything.run()
    assert _forget_posts(emulator) == 1

    # The next export holding them sends nothing for them.
    workspace.write("email_audience_2026-12-02.csv", f"email,firstname\n{EMAIL},Fiona\n")
    workspace.write("sms_audience_2026-12-02.csv", "phone,email\n+1 215 888 0142,\n")
    emulator.clear_requests()
    everything.run()
    assert not [s for s in _sent(emulator) if _mentions(s)]
    uploaded = [p for p in everything.sftp_folder.rglob("*") if p.is_file()]
    assert uploaded and not [p for p in uploaded if traces(p.parent)]
    for table in ("email_audience", "sms_audience"):
        rejects = workspace.rejects(table)
        forgotten = rejects.filter(pl.col("reason") == "forgotten")
        assert forgotten["source_file"].to_list() == [f"{table}_2026-12-02.csv"], table
        assert not any(_mentions(v) for v in rejects["value"].drop_nulls())
    assert _forget_posts(emulator) == 0  # requests were cleared: none since
    # The new exports no longer hold them either: erased in the run that found them.
    assert traces(workspace.root) == []


def _erasure_only(
    workspace: Workspace, emulator: Emulator, salt: str | None = SALT
) -> dg.ExecuteInProcessResult:
    keys = [
        raw_key("forget"),
        clean_key("forget"),
        rejects_key("forget"),
        SUPPRESSION_KEY,
        FORGET_REQUESTS_KEY,
    ]
    return dg.materialize(
        list(defs.assets or []),
        selection=dg.AssetSelection.assets(*keys),
        resources={
            **workspace.resources(),
            "listrak_privacy": api_resource(ListrakPrivacyApi, emulator),
            "erasure": ListrakErasure(salt=salt),
        },
        instance=workspace.instance,
        raise_on_error=False,
    )


def test_a_processing_request_is_checked_next_run_never_resubmitted(
    workspace: Workspace, emulator: Emulator
) -> None:
    emulator.privacy.checks_until_complete = 1
    workspace.write("forget.csv", FORGET_FILE)

    first = _erasure_only(workspace, emulator)
    assert first.success, failure_messages(first)
    meta = materialization(first, FORGET_REQUESTS_KEY)
    assert (meta["forget_requests_sent"], meta["processing"], meta["complete"]) == (1, 1, 0)
    [entry] = Ledger.read(workspace.root / "data" / "erasure" / "ledger.json").people.values()
    assert entry.status == "PROCESSING" and entry.request_id in emulator.privacy.forgets

    second = _erasure_only(workspace, emulator)
    meta = materialization(second, FORGET_REQUESTS_KEY)
    assert (meta["forget_requests_sent"], meta["processing"], meta["complete"]) == (0, 0, 1)
    assert _forget_posts(emulator) == 1
    gets = [r for r in emulator.requests if r.method == "GET" and r.api == "privacy"]
    assert len(gets) == 2

    third = _erasure_only(workspace, emulator)
    assert third.success
    assert len([r for r in emulator.requests if r.api == "privacy"]) == 3  # nothing more


def test_a_lost_answer_leaves_the_person_to_be_submitted_again(
    workspace: Workspace, emulator: Emulator
) -> None:
    workspace.write("forget.csv", FORGET_FILE)
    emulator.set_faults(errors_after=1.0, match=r"^POST /privacy")
    failed = _erasure_only(workspace, emulator)
    assert not failed.success
    assert "submitted again on the next run" in failure_messages(failed)[0]
    # Still suppressed, and their request file is kept for the next try.
    assert "Forget.Me" in (workspace.inbox / "forget.csv").read_text()
    emulator.set_faults(errors_after=0.0)
    again = _erasure_only(workspace, emulator)
    assert again.success, failure_messages(again)
    assert _forget_posts(emulator) == 1  # the lost one was answered 500, this one 201


def test_erasure_refuses_to_run_without_a_salt(
    workspace: Workspace, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SALT_ENV, raising=False)
    workspace.write("forget.csv", FORGET_FILE)
    result = _erasure_only(workspace, emulator, salt=None)
    assert not result.success
    assert SALT_ENV in failure_messages(result)[0]
    assert emulator.writes == 0


def test_an_unchanged_clean_table_is_not_vouched_for_without_the_salt(
    workspace: Workspace, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipping an unchanged table is no way around the salt once anyone is forgotten."""
    workspace.write("forget.csv", FORGET_FILE)
    assert _erasure_only(workspace, emulator).success
    workspace.write("customers.csv", "email,firstname\nkeep.me@example.org,Keep\n")
    monkeypatch.delenv(SALT_ENV, raising=False)

    def clean_customers(salt: str | None) -> dg.ExecuteInProcessResult:
        keys = [k("customers") for k in (raw_key, clean_key, rejects_key)]
        return dg.materialize(
            list(defs.assets or []),
            selection=dg.AssetSelection.assets(*keys),
            resources={**workspace.resources(), "erasure": ListrakErasure(salt=salt)},
            instance=workspace.instance,
            raise_on_error=False,
        )

    assert clean_customers(SALT).success
    again = clean_customers(SALT)
    assert again.success
    assert materialization(again, clean_key("customers")).get("unchanged")
    without = clean_customers(None)
    assert not without.success
    assert SALT_ENV in failure_messages(without)[0]
