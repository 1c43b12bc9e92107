"""Unchanged re-runs through Dagster: the same inbox, settings and code materialized twice with
one instance re-do nothing and send nothing; a changed file re-does only its own chain; a
change of settings or code, or the force tag, re-does.

What was re-done is read from the files themselves (the stored Parquet tables and the files on
the SFTP server keep their modification times when nothing rewrote them), and what the UI
says from the materializations' metadata.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from listrak_assets.defs import unchanged
from listrak_assets.defs.checks import REFERENTIAL_CHECKS
from listrak_assets.defs.clean import CLEAN_ASSETS
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.raw import INPUT_FINGERPRINT, RAW_ASSETS
from listrak_assets.defs.resources import ListrakSftp
from listrak_assets.defs.sensors import last_consumed
from listrak_assets.defs.sftp_sinks import FILE_ASSETS, FILE_SINKS, SENT_FILES, file_key
from listrak_assets.defs.unchanged import FINGERPRINT, FORCE_TAG, UNCHANGED
from listrak_assets_tests.conftest import (
    REPO,
    Workspace,
    check_results,
    failure_messages,
    materialization,
)
from listrak_assets_tests.sftp_servers import SftpServer

TABLES = list(FILE_ASSETS)
Sent = dict[str, tuple[int, int]]  # file name on the server -> (inode, mtime in ns)


@pytest.fixture
def sample(workspace: Workspace) -> Workspace:
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    return workspace


class Publisher:
    """The four commerce tables built and sent, as the refresh job does, run after run on
    one instance; and what each run left on disk."""

    def __init__(self, workspace: Workspace, server: SftpServer) -> None:
        self.workspace = workspace
        self.remote, self.local = server.folder("unchanged")
        self.sftp: ListrakSftp = server.resource()
        self.sftp_settings: dict[str, object] = {"remote_folder": self.remote}

    def run(
        self,
        tags: dict[str, str] | None = None,
        selection: dg.AssetSelection | None = None,
        **settings: object,
    ) -> dg.ExecuteInProcessResult:
        self.workspace.settings(sftp=self.sftp_settings, **settings)
        result = dg.materialize(
            [*RAW_ASSETS, *CLEAN_ASSETS, *FILE_SINKS, *REFERENTIAL_CHECKS],
            selection=selection
            or dg.AssetSelection.assets(
                *(k for t in TABLES for k in (raw_key(t), clean_key(t), rejects_key(t)))
            )
            | dg.AssetSelection.assets(*(file_key(t) for t in TABLES)),
            resources={**self.workspace.resources(), "sftp": self.sftp},
            instance=self.workspace.instance,
            tags=tags,
            raise_on_error=False,
        )
        assert result.success, failure_messages(result)
        return result

    def stored(self) -> dict[str, int]:
        """Each stored table's modification time (ns), by asset key."""
        out = {}
        for table in TABLES:
            for key in (raw_key(table), clean_key(table), rejects_key(table)):
                path = self.workspace.warehouse.joinpath(*key.path).with_suffix(".parquet")
                out[key.to_user_string()] = path.stat().st_mtime_ns
        return out

    def sent(self) -> Sent:
        """Each file on the SFTP server: (inode, modification time in ns); an upload renames
        a new file into place, so both change when a file is sent again."""
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in self.local.iterdir()}


def touched(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {k for k in before if before[k] != after[k]}


def changed_files(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> set[str]:
    assert before.keys() == after.keys()
    return {k for k in before if before[k] != after[k]}


def remote_name(table: str, files: Sent) -> str:
    stems = {
        "customers": "Listrak_Customer_",
        "products": "Listrak_Product_Feed_",
        "orders": "Listrak_Order_Feed_",
        "order_items": "Listrak_OrderItem_Feed_",
    }
    (name,) = [n for n in files if n.startswith(stems[table])]
    return name


@pytest.fixture
def publisher(sample: Workspace, sandbox_server: SftpServer) -> Publisher:
    return Publisher(sample, sandbox_server)


def test_an_unchanged_rerun_cleans_nothing_and_uploads_nothing(publisher: Publisher) -> None:
    first = publisher.run()
    stored, sent = publisher.stored(), publisher.sent()
    assert len(sent) == 4
    consumed = {t: last_consumed(publisher.workspace.instance, t) for t in TABLES}

    second = publisher.run()

    assert touched(stored, publisher.stored()) == set()
    assert changed_files(sent, publisher.sent()) == set()
    for table in TABLES:
        for key in (raw_key(table), clean_key(table), rejects_key(table), file_key(table)):
            before, after = materialization(first, key), materialization(second, key)
            assert UNCHANGED not in before
            assert "unchanged, 0 sent" in str(after[UNCHANGED]), key
            assert after[FINGERPRINT] == before[FINGERPRINT]
            assert after.get("dagster/row_count") == before.get("dagster/row_count")
        assert materialization(first, file_key(table))[SENT_FILES] == 1
        assert materialization(second, file_key(table))[SENT_FILES] == 0
        # The inbox sensor and the archive still find the files the raw table consumed.
        raw = materialization(second, raw_key(table))
        assert raw[INPUT_FINGERPRINT] == consumed[table]
        assert last_consumed(publisher.workspace.instance, table) == consumed[table]

    # The checks still report, from the result the stored table was checked with.
    before, after = check_results(first), check_results(second)
    assert before.keys() == after.keys() and len(after) == 3 * len(TABLES) + 3
    for name, evaluation in after.items():
        assert evaluation.passed == before[name].passed, name
        if name[1] in ("schema_valid", "conservation", "key_unique"):
            assert evaluation.metadata[UNCHANGED].value is True
            old = {k: v.value for k, v in before[name].metadata.items()}
            assert {k: v.value for k, v in evaluation.metadata.items() if k != UNCHANGED} == old


def garble(path: Path) -> None:
    """Bytes no reader could parse, with the file's size and modification time kept: what
    the fingerprints see is as it was, what a read would get is not."""
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_unchanged_step_reads_none_of_its_input(publisher: Publisher) -> None:
    publisher.run()
    tables = publisher.workspace.warehouse
    for table in TABLES:
        garble(tables.joinpath(*raw_key(table).path).with_suffix(".parquet"))

    # The clean steps would fail reading their raw tables; unchanged, they never do.
    second = publisher.run()
    for table in TABLES:
        assert UNCHANGED in materialization(second, clean_key(table))

    # Likewise the file sinks and their clean tables (the checks, which do read them, are
    # left out of this run).
    for table in TABLES:
        garble(tables.joinpath(*clean_key(table).path).with_suffix(".parquet"))
    third = publisher.run(selection=dg.AssetSelection.assets(*(file_key(t) for t in TABLES)))
    for table in TABLES:
        assert materialization(third, file_key(table))[SENT_FILES] == 0


def test_a_changed_file_redoes_only_its_chain(publisher: Publisher) -> None:
    publisher.run()
    stored, sent = publisher.stored(), publisher.sent()
    customers = publisher.workspace.inbox / "customers.csv"
    lines = customers.read_text(encoding="utf-8").splitlines(keepends=True)
    customers.write_text("".join(lines[:-1]), encoding="utf-8")  # one customer fewer

    second = publisher.run()

    assert touched(stored, publisher.stored()) == {
        "raw/customers",
        "clean/customers",
        "clean/customers_rejects",
    }
    after = publisher.sent()
    assert changed_files(sent, after) == {remote_name("customers", after)}
    assert materialization(second, file_key("customers"))[SENT_FILES] == 1
    assert UNCHANGED not in materialization(second, clean_key("customers"))
    for table in ("products", "orders", "order_items"):
        assert UNCHANGED in materialization(second, clean_key(table))
        assert materialization(second, file_key(table))[SENT_FILES] == 0


def test_a_file_rewritten_with_the_same_bytes_is_rebuilt_but_not_resent(
    publisher: Publisher,
) -> None:
    publisher.run()
    stored, sent = publisher.stored(), publisher.sent()
    orders = publisher.workspace.inbox / "orders.csv"
    stat = orders.stat()
    os.utime(orders, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    second = publisher.run()

    assert touched(stored, publisher.stored()) == {
        "raw/orders",
        "clean/orders",
        "clean/orders_rejects",
    }
    assert changed_files(sent, publisher.sent()) == set()
    meta = materialization(second, file_key("orders"))
    assert meta[SENT_FILES] == 0 and UNCHANGED in meta
    assert "delivered" in str(meta[UNCHANGED])
    # The new fingerprint is recorded: a third run returns at once.
    stored = publisher.stored()
    third = materialization(publisher.run(), file_key("orders"))
    assert touched(stored, publisher.stored()) == set()
    assert third[FINGERPRINT] == meta[FINGERPRINT] and "same inputs" in str(third[UNCHANGED])


def test_a_cleaning_setting_redoes_every_clean_table_but_no_read(publisher: Publisher) -> None:
    publisher.run()
    stored = publisher.stored()
    publisher.run(invalid_optional="reject_row")
    redone = touched(stored, publisher.stored())
    assert {f"clean/{t}" for t in TABLES} <= redone
    assert not any(k.startswith("raw/") for k in redone)


def test_a_new_code_version_or_the_force_tag_redoes_and_resends_everything(
    publisher: Publisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher.run()
    stored, sent = publisher.stored(), publisher.sent()

    forced = publisher.run(tags={FORCE_TAG: "true"})
    assert touched(stored, publisher.stored()) == set(stored)
    assert changed_files(sent, publisher.sent()) == set(sent)
    assert all(materialization(forced, file_key(t))[SENT_FILES] == 1 for t in TABLES)

    stored, sent = publisher.stored(), publisher.sent()
    monkeypatch.setattr(unchanged, "code_version", lambda: "another version")
    publisher.run()
    assert touched(stored, publisher.stored()) == set(stored)
    # A new code version with the same output sends nothing again.
    assert changed_files(sent, publisher.sent()) == set()


def test_a_stored_table_that_is_gone_is_built_again(publisher: Publisher) -> None:
    publisher.run()
    clean: Path = publisher.workspace.warehouse / "clean" / "customers.parquet"
    expected = publisher.workspace.clean("customers")
    clean.unlink()
    second = publisher.run()
    assert publisher.workspace.clean("customers").equals(expected)
    assert UNCHANGED not in materialization(second, clean_key("customers"))
    assert UNCHANGED in materialization(second, raw_key("customers"))
