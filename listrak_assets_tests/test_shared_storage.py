"""Storage paths as fsspec URLs: the warehouse (tables and mirror state) and the erasure ledger
on a filesystem several machines share. The pipeline runs with its warehouse on a real sshd
(`sftp://`), and a second Dagster instance on the same URL finds the first's tables and state;
the parsing and refusals are checked on `memory://` and `file://`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import dagster as dg
import fsspec.config
import paramiko
import polars as pl
import pytest
from fsspec.implementations.sftp import SFTPFileSystem
from upath import UPath

from listrak_assets.defs.checks import REFERENTIAL_CHECKS
from listrak_assets.defs.clean import CLEAN_ASSETS
from listrak_assets.defs.email_sink import REJECTS, SINK
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.raw import RAW_ASSETS
from listrak_assets.defs.resources import ListrakEmailApi, ListrakSftp
from listrak_assets.defs.sftp_sinks import FILE_ASSETS, FILE_SINKS, SENT_FILES, file_key
from listrak_assets.defs.unchanged import (
    FINGERPRINT,
    FORCE_TAG,
    FROM_STORED_TABLE,
    UNCHANGED,
    UNCHANGED_FROM,
)
from listrak_assets.erasure.ledger import Ledger
from listrak_assets.erasure.retention import mask_old_rejects
from listrak_assets.erasure.scrub import Erasure, Matcher, scrub_warehouse
from listrak_assets.listrak.state import MemberState
from listrak_assets.sandbox.emulator import Emulator
from listrak_assets.schemas import TABLES
from listrak_assets.settings import SettingsError, load_settings
from listrak_assets.ssh_hosts import host_id
from listrak_assets.storage import (
    location,
    read_parquet,
    read_parquet_metadata,
    text,
    write_bytes,
    write_parquet,
)
from listrak_assets.storage_trust import KNOWN_HOSTS_ENV, UntrustedHost
from listrak_assets.stored_tables import BUILT_FROM, stored_files, table_file
from listrak_assets.suppression import Suppression, digest
from listrak_assets_tests.conftest import (
    INSTANCE_CONFIG,
    REPO,
    Workspace,
    check_results,
    failure_messages,
    materialization,
)
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.sink_fixtures import api_resource, materialize
from listrak_assets_tests.test_email_sink import KEYS, addresses, membership, send

# Settings ---------------------------------------------------------------------------------------


def test_a_url_is_kept_as_a_url_and_a_folder_still_resolves_against_the_file(
    tmp_path: Path,
) -> None:
    conf = load_settings(_write(tmp_path, "warehouse: memory:///shared/warehouse\n"))
    assert isinstance(conf.warehouse, UPath) and conf.warehouse.protocol == "memory"
    assert conf.warehouse.path == "/shared/warehouse"
    conf = load_settings(_write(tmp_path, "warehouse: data/wh\nerasure: {ledger: l.json}\n"))
    assert conf.warehouse == tmp_path / "data" / "wh"
    assert conf.erasure.ledger == tmp_path / "l.json"


def test_a_file_url_is_the_local_folder_it_names(tmp_path: Path) -> None:
    conf = load_settings(_write(tmp_path, f"warehouse: file://{tmp_path}/wh\n"))
    assert type(conf.warehouse) is type(tmp_path) and conf.warehouse == tmp_path / "wh"


def _write(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "listrak.yaml"
    config.write_text(body)
    return config


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("warehouse: nosuchfs://bucket/wh\n", ["'warehouse'", "'nosuchfs://'"]),
        ("erasure: {ledger: 'nosuchfs://x/ledger.json'}\n", ["'erasure.ledger'", "'nosuchfs://'"]),
        ("inbox: s3://bucket/inbox\n", ["'inbox'", "local folder", "inbox sensor"]),
        ("archive: nosuchfs://x/archive\n", ["'archive'", "'nosuchfs://'"]),
        ("archive: sftp://me:secret@example.com/archive\n", ["'archive'", "no password"]),
        ("warehouse: sftp://me:secret@example.com/wh\n", ["'warehouse'", "no password"]),
    ],
)
def test_a_url_that_cannot_act_is_refused_naming_the_key(
    tmp_path: Path, body: str, words: list[str]
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_write(tmp_path, body))
    for word in words:
        assert word in str(err.value)
    assert "secret" not in str(err.value)


def test_a_scheme_whose_package_is_missing_is_refused_naming_it(tmp_path: Path) -> None:
    # gcsfs is not a dependency: fsspec knows the scheme but can't serve it here.
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401

        pytest.skip("gcsfs is installed here")
    except ImportError:
        pass
    with pytest.raises(SettingsError, match=r"'warehouse'.*'gs://'.*not installed"):
        load_settings(_write(tmp_path, "warehouse: gs://bucket/wh\n"))


# The storage module on memory:// -----------------------------------------------------------------


@pytest.fixture
def memory() -> Iterator[UPath]:
    root = UPath(f"memory:///test-{id(object())}")
    yield root
    if root.exists():
        root.fs.rm(root.path, recursive=True)


def test_a_table_written_to_a_url_reads_back_with_its_metadata_and_no_leftovers(
    memory: UPath,
) -> None:
    target = memory / "state" / "t.parquet"
    frame = pl.DataFrame({"email": ["a@example.com", "b@example.com"]})
    write_parquet(frame, target, {"k": "v"})
    write_parquet(frame.head(1), target, {"k": "w"})  # replaces it
    assert read_parquet(target).equals(frame.head(1))
    assert read_parquet_metadata(target)["k"] == "w"
    assert [p.name for p in (memory / "state").iterdir()] == ["t.parquet"]


def test_a_failed_write_to_a_url_leaves_the_old_file(memory: UPath) -> None:
    target = memory / "t.parquet"
    write_parquet(pl.DataFrame({"a": [1]}), target)
    with pytest.raises(pl.exceptions.ComputeError):
        write_parquet(pl.DataFrame({"a": [object()]}), target)  # polars can't write it
    assert read_parquet(target)["a"].to_list() == [1]
    assert [p.name for p in memory.iterdir()] == ["t.parquet"]


def test_local_erasure_rewrites_the_tables_at_a_url(memory: UPath) -> None:
    salt, gone = "erasure-test-salt-0123456789abcdef", "forget.me@example.org"
    table = memory / "clean" / "customers.parquet"
    state = memory / "state" / "email_audience_members.parquet"
    write_parquet(pl.DataFrame({"email": [gone, "a@example.org"]}), table)
    write_parquet(pl.DataFrame({"email": [gone]}), state, {"listrak_assets.state": "{}"})
    matcher = Matcher(Suppression(salt, emails=frozenset({digest(salt, "email", gone)})))
    erasure = Erasure()
    scrub_warehouse(memory, matcher, erasure)
    assert read_parquet(table)["email"].to_list() == ["a@example.org"]
    assert read_parquet(state).height == 0
    assert read_parquet_metadata(state)["listrak_assets.state"] == "{}"  # kept
    assert erasure.removed == {
        "clean/customers.parquet": 1,
        "state/email_audience_members.parquet": 1,
    }


def test_the_ledger_lives_at_a_url(memory: UPath) -> None:
    path = memory / "erasure" / "ledger.json"
    ledger = Ledger.read(path)
    ledger.salt_check = "check"
    ledger.save()
    assert json.loads(path.read_text())["salt_check"] == "check"
    assert Ledger.read(path).salt_check == "check"


def test_a_url_is_recorded_whole_and_read_back_as_the_same_place() -> None:
    url = "sftp://me@127.0.0.1:2222/srv/warehouse/clean/customers.parquet"
    where = location(url)
    assert text(where) == url  # str() of the UPath would drop the user, host and port
    assert location(text(where)) == where
    assert text(location("/srv/wh")) == "/srv/wh"


def test_where_a_table_is_stored_is_one_answer_for_every_reader(memory: UPath) -> None:
    key = ["clean", "orders_rejects"]
    assert table_file(memory, key) == memory / "clean" / "orders_rejects.parquet"
    day = table_file(memory, key, "2026-12-01")
    assert day == memory / "clean" / "orders_rejects" / "2026-12-01.parquet"
    frame = pl.DataFrame({"source_file": ["orders.csv"], "value": ["ann@example.com"]})
    for path in (table_file(memory, key), day):
        write_parquet(frame, path)
    assert stored_files(memory, key) == [table_file(memory, key), day]
    # Retention finds and masks them through the same answer, on the URL too.
    masked = mask_old_rejects(memory / "clean", [], 30, dt.datetime.now(dt.UTC))
    assert masked == {"orders_rejects": 1, "orders_rejects/2026-12-01": 1}
    assert read_parquet(day)["value"].to_list() != ["ann@example.com"]


def test_a_small_file_is_written_whole_to_a_url(memory: UPath) -> None:
    write_bytes(memory / "alerts" / "run.txt", b"first")
    write_bytes(memory / "alerts" / "run.txt", b"second")
    assert (memory / "alerts" / "run.txt").read_bytes() == b"second"
    assert [p.name for p in (memory / "alerts").iterdir()] == ["run.txt"]


# The pipeline with its warehouse on a real sshd --------------------------------------------------


@pytest.fixture
def shared(sshd_server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A warehouse URL on the test sshd and the folder it is on disk. The login comes from
    fsspec's configuration (what FSSPEC_SFTP_PASSWORD or FSSPEC_SFTP_KEY_FILENAME set in a
    deployment), never from listrak.yaml."""
    remote, local = sshd_server.folder("warehouse")
    monkeypatch.setitem(fsspec.config.conf, "sftp", sshd_server.fsspec_login())
    monkeypatch.setenv(KNOWN_HOSTS_ENV, str(sshd_server.known_hosts))
    return sshd_server.url(remote), local


def test_a_storage_server_is_trusted_only_with_its_key_in_known_hosts(
    shared: tuple[str, Path],
    sshd_server: SftpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fsspec's SFTP filesystem would accept any host key: a machine in the middle would get
    the login and the tables. Here a key not listed is refused before anything is sent."""
    url, on_server = shared
    frame = pl.DataFrame({"email": ["ann@example.com"]})
    target = location(url) / "clean" / "customers.parquet"
    known_hosts = tmp_path / "known_hosts"
    server = host_id(sshd_server.host, sshd_server.port)
    monkeypatch.setenv(KNOWN_HOSTS_ENV, str(known_hosts))

    known_hosts.write_text("")  # nothing listed for the server
    SFTPFileSystem.clear_instance_cache()
    with pytest.raises(UntrustedHost) as refused:
        write_parquet(frame, target)
    message = str(refused.value)
    assert sshd_server.host_key_fingerprint in message and "not trusted" in message
    assert KNOWN_HOSTS_ENV in message and f"has no key for {server}" in message

    impostor = paramiko.ECDSAKey.generate()  # another key listed for the server's name
    known_hosts.write_text(f"{server} {impostor.get_name()} {impostor.get_base64()}\n")
    SFTPFileSystem.clear_instance_cache()
    with pytest.raises(UntrustedHost, match="The key has changed"):
        write_parquet(frame, target)
    assert not any(on_server.rglob("*"))  # nothing reached the server

    shutil.copy(sshd_server.known_hosts, known_hosts)  # the server's own key: trusted
    SFTPFileSystem.clear_instance_cache()
    write_parquet(frame, target)
    assert pl.read_parquet(on_server / "clean" / "customers.parquet").equals(frame)


def test_tables_and_state_live_on_the_shared_url_and_a_second_instance_resends_nothing(
    workspace: Workspace, emulator: Emulator, shared: tuple[str, Path], tmp_path: Path
) -> None:
    url, on_server = shared
    emails = addresses("ann", "bob", "cy")
    first = send(workspace, emulator, emails, warehouse=url)
    assert first.success, failure_messages(first)
    assert membership(emulator) == dict.fromkeys(emails, "on")

    # Every table and the mirror state are on the server; nothing in a local warehouse.
    for key in KEYS[:3]:
        stored = on_server.joinpath(*key.path).with_suffix(".parquet")
        assert stored.is_file(), key
    clean = pl.read_parquet(on_server / "clean" / "email_audience.parquet")
    assert sorted(clean["email"].to_list()) == emails
    assert MemberState(on_server / "state").members(*_scope(emulator)).sort().to_list() == emails
    assert not workspace.warehouse.exists() and not (workspace.root / "sftp:").exists()
    meta = first.asset_materializations_for_node("clean_email_audience")
    assert meta and str(meta[0].metadata["path"].value).startswith(url)

    # Another machine: its own Dagster instance, the same listrak.yaml and URL. It runs only
    # the sink, which reads the clean table the first one stored, and the state says that
    # every member was sent: nothing is written to Listrak.
    writes = emulator.writes
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as other:
        second = dg.materialize(
            _assets(),
            selection=dg.AssetSelection.assets(SINK, REJECTS),
            resources={
                **workspace.resources(),
                "listrak_email": api_resource(ListrakEmailApi, emulator),
            },
            instance=other,
            raise_on_error=False,
        )
        assert second.success, failure_messages(second)
        sent = materialization(second, SINK)
    assert emulator.writes == writes
    assert sent["rows_sent"] == 0 and sent["members_kept"] == 3
    assert membership(emulator) == dict.fromkeys(emails, "on")


def test_a_rerun_on_the_shared_url_is_unchanged(
    workspace: Workspace, emulator: Emulator, shared: tuple[str, Path]
) -> None:
    url, on_server = shared
    emails = addresses("ann", "bob")
    assert send(workspace, emulator, emails, warehouse=url).success
    stored = on_server / "clean" / "email_audience.parquet"
    before = stored.stat().st_mtime_ns, stored.stat().st_ino
    writes = emulator.writes
    again = materialize(workspace, KEYS, listrak_email=api_resource(ListrakEmailApi, emulator))
    assert again.success, failure_messages(again)
    assert (stored.stat().st_mtime_ns, stored.stat().st_ino) == before  # not rewritten
    assert emulator.writes == writes
    for key in (raw_key("email_audience"), clean_key("email_audience")):
        assert "unchanged, 0 sent" in str(materialization(again, key)[UNCHANGED]), key
    sent = materialization(again, SINK)
    assert sent["outcome"] == "unchanged, 0 sent" and sent["write_requests"] == 0


def _publish(workspace: Workspace, sftp: ListrakSftp) -> dg.ExecuteInProcessResult:
    """The four commerce tables built and their files uploaded, on the workspace's instance."""
    tables = list(FILE_ASSETS)
    result = dg.materialize(
        [*RAW_ASSETS, *CLEAN_ASSETS, *FILE_SINKS, *REFERENTIAL_CHECKS],
        selection=dg.AssetSelection.assets(
            *(k for t in tables for k in (raw_key(t), clean_key(t), rejects_key(t), file_key(t)))
        ),
        resources={**workspace.resources(), "sftp": sftp},
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    return result


def test_the_file_sinks_of_a_second_instance_on_the_shared_url_send_nothing(
    workspace: Workspace, sshd_server: SftpServer, shared: tuple[str, Path]
) -> None:
    url, on_server = shared
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    remote, delivered = sshd_server.folder("listrak")
    workspace.settings(warehouse=url, sftp={"remote_folder": remote})
    sftp = sshd_server.resource()

    first = _publish(workspace, sftp)
    sent = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in delivered.iterdir()}
    assert len(sent) == 4
    for table in FILE_ASSETS:
        assert materialization(first, file_key(table))[SENT_FILES] == 1
        assert on_server.joinpath(*clean_key(table).path).with_suffix(".parquet").is_file()

    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as other:
        second = _publish(Workspace(workspace.root, other), sftp)
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in delivered.iterdir()} == sent
    for table in FILE_ASSETS:
        meta = materialization(second, file_key(table))
        assert meta[SENT_FILES] == 0
        assert "another instance" in str(meta[UNCHANGED])


# Two instances, one warehouse: the stored tables say what they were built from -------------------

Stat = tuple[int, int]  # a stored file's (inode, modification time in ns)
CHANGED = "sms_audience"  # the table whose input file changes


def _table_keys(tables: list[str]) -> list[dg.AssetKey]:
    return [k for t in tables for k in (raw_key(t), clean_key(t), rejects_key(t))]


def _stats(folder: Path, tables: list[str] | None = None) -> dict[str, Stat]:
    """Each stored table's (inode, mtime): a table written again (to a new name, then moved
    into place) changes both."""
    out = {}
    for key in _table_keys(tables or list(TABLES)):
        stat = folder.joinpath(*key.path).with_suffix(".parquet").stat()
        out[key.to_user_string()] = (stat.st_ino, stat.st_mtime_ns)
    return out


def _run(workspace: Workspace, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = Workspace(workspace.root, instance).materialize(*TABLES)
    assert result.success, failure_messages(result)
    return result


def _two_instances_share_the_tables(workspace: Workspace, on_disk: Path) -> None:
    """Instance A builds every table; instance B, with its own event log, finds each stored
    table built from its inputs and rewrites none; a changed input file makes B rebuild that
    table's chain only, and A then keeps what B built."""
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    first = _run(workspace, workspace.instance)
    built = _stats(on_disk)
    keys = _table_keys(list(TABLES))
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as other:
        second = _run(workspace, other)
        assert _stats(on_disk) == built  # nothing rewritten
        for key in keys:
            meta = materialization(second, key)
            assert "unchanged, 0 sent" in str(meta[UNCHANGED]), key
            assert meta[UNCHANGED_FROM] == FROM_STORED_TABLE, key
            # What the UI and the freshness check read is carried from the stored table.
            original = materialization(first, key)
            assert meta[FINGERPRINT] == original[FINGERPRINT], key
            assert meta["dagster/row_count"] == original["dagster/row_count"], key
            assert meta["path"] == original["path"], key
            assert "preview" not in meta, key  # values stay in A's event log
        raw = materialization(second, raw_key("customers"))
        assert (
            raw["input_fingerprint"]
            == materialization(first, raw_key("customers"))["input_fingerprint"]
        )
        checks = check_results(second)
        for table in TABLES:
            for name in ("schema_valid", "conservation", "key_unique"):
                evaluation = checks[("/".join(clean_key(table).path), name)]
                assert evaluation.passed and evaluation.metadata[UNCHANGED].value, (table, name)

        # One input file changes: B rebuilds that table's chain and nothing else.
        audience = workspace.inbox / f"{CHANGED}.csv"
        lines = audience.read_text(encoding="utf-8").splitlines(keepends=True)
        audience.write_text("".join(lines[:-1]), encoding="utf-8")
        third = _run(workspace, other)
    after = _stats(on_disk)
    rebuilt = {k for k in built if built[k] != after[k]}
    assert rebuilt == {k.to_user_string() for k in _table_keys([CHANGED])}
    for key in keys:
        meta = materialization(third, key)
        assert (UNCHANGED in meta) == (key.to_user_string() not in rebuilt), key
    assert materialization(third, raw_key(CHANGED))["dagster/row_count"] == (
        materialization(first, raw_key(CHANGED))["dagster/row_count"] - 1
    )

    # A's own records describe the old sms_audience tables; the stored ones say B built them
    # from today's inputs, so A keeps them.
    fourth = _run(workspace, workspace.instance)
    assert _stats(on_disk) == after
    for key in _table_keys([CHANGED]):
        assert materialization(fourth, key)[UNCHANGED_FROM] == FROM_STORED_TABLE, key
    assert UNCHANGED_FROM not in materialization(fourth, raw_key("customers"))


def test_a_second_instance_keeps_the_tables_the_first_built_on_the_shared_url(
    workspace: Workspace, shared: tuple[str, Path]
) -> None:
    url, on_server = shared
    workspace.settings(warehouse=url)
    _two_instances_share_the_tables(workspace, on_server)
    assert not workspace.warehouse.exists()


def test_a_second_instance_keeps_the_tables_the_first_built_in_a_local_folder(
    workspace: Workspace,
) -> None:
    _two_instances_share_the_tables(workspace, workspace.warehouse)


def test_a_second_instance_that_runs_only_the_clean_step_keeps_the_clean_table(
    workspace: Workspace,
) -> None:
    """B never materialized the raw table: the clean step fingerprints the raw table's file
    where the IO manager stores it, which is what A's clean table was built from."""
    shutil.copy(REPO / "data" / "inbox" / "customers.csv", workspace.inbox)
    _run_keys(workspace, workspace.instance, _table_keys(["customers"]))
    before = _stats(workspace.warehouse, ["customers"])
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as other:
        keys = [clean_key("customers"), rejects_key("customers")]
        second = _run_keys(workspace, other, keys)
    assert _stats(workspace.warehouse, ["customers"]) == before
    for key in keys:
        assert materialization(second, key)[UNCHANGED_FROM] == FROM_STORED_TABLE, key


def _run_keys(
    workspace: Workspace, instance: dg.DagsterInstance, keys: list[dg.AssetKey]
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        _assets(),
        selection=dg.AssetSelection.assets(*keys),
        resources=workspace.resources(),
        instance=instance,
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    return result


def test_a_table_rewritten_by_erasure_or_a_forced_run_is_rebuilt_by_another_instance(
    workspace: Workspace,
) -> None:
    """A local erasure rewrites the stored tables without their record (they were not built
    from those inputs): another instance rebuilds exactly those; a forced run rebuilds all."""
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    _run(workspace, workspace.instance)
    on_disk = workspace.warehouse
    gone = pl.read_csv(workspace.inbox / "customers.csv", infer_schema=False)["Email"][0]
    salt = "erasure-test-salt-0123456789abcdef"
    matcher = Matcher(Suppression(salt, emails=frozenset({digest(salt, "email", gone)})))
    erasure = Erasure()
    scrub_warehouse(on_disk, matcher, erasure)
    scrubbed = {str(PurePosixPath(p).with_suffix("")) for p in erasure.removed}
    assert {"raw/customers", "clean/customers"} <= scrubbed
    for name in scrubbed:
        assert BUILT_FROM not in read_parquet_metadata(on_disk / f"{name}.parquet"), name
    kept = on_disk / "clean" / "orders.parquet"
    assert BUILT_FROM in read_parquet_metadata(kept)

    before = _stats(on_disk)
    with dg.instance_for_test(overrides=INSTANCE_CONFIG) as other:
        second = _run(workspace, other)
        after = _stats(on_disk)
        rebuilt = {k for k in before if before[k] != after[k]}
        # The scrubbed tables, and what is built from them (the clean step writes its rejects
        # with its clean table).
        assert scrubbed <= rebuilt
        assert "clean/orders" not in rebuilt
        assert rebuilt == {
            k.to_user_string()
            for k in _table_keys(list(TABLES))
            if UNCHANGED not in materialization(second, k)
        }
        assert gone in read_parquet(on_disk / "raw" / "customers.parquet")["email"].to_list()

        forced = Workspace(workspace.root, other)
        result = dg.materialize(
            _assets(),
            selection=dg.AssetSelection.assets(*_table_keys(list(TABLES))),
            resources=forced.resources(),
            instance=other,
            tags={FORCE_TAG: "true"},
            raise_on_error=False,
        )
        assert result.success, failure_messages(result)
    again = _stats(on_disk)
    assert all(again[k] != after[k] for k in after)


def _assets() -> list[dg.AssetsDefinition]:
    from listrak_assets.definitions import defs

    return list(defs.assets or [])  # type: ignore[arg-type]


def _scope(emulator: Emulator) -> tuple[int, int]:
    item = emulator.email.list_named("Newsletter")
    [field] = item.fields.values()
    return item.list_id, field.field_id
