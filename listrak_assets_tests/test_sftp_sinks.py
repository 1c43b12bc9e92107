"""The four file sinks through Dagster: the real raw, clean and sink assets materialized from the
sample data, with the SFTP resource pointed at a test server (OpenSSH's sshd and the sandbox).
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from listrak_assets.definitions import defs
from listrak_assets.defs.checks import REFERENTIAL_CHECKS
from listrak_assets.defs.clean import CLEAN_ASSETS
from listrak_assets.defs.keys import clean_key, raw_key, rejects_key
from listrak_assets.defs.raw import RAW_ASSETS
from listrak_assets.defs.resources import ListrakSftp
from listrak_assets.defs.sftp_sinks import FILE_ASSETS, FILE_SINKS, file_key
from listrak_assets.schemas import TABLES
from listrak_assets_tests.conftest import REPO, Workspace, failure_messages, materialization
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.test_files import as_written, read_listrak_csv

NAMES = {
    "customers": "Listrak_Customer_{date}.csv",
    "products": "Listrak_Product_Feed_{date}.csv",
    "orders": "Listrak_Order_Feed_{date}.csv",
    "order_items": "Listrak_OrderItem_Feed_{date}.csv",
}


@pytest.fixture
def sample(workspace: Workspace) -> Workspace:
    for path in (REPO / "data" / "inbox").iterdir():
        shutil.copy(path, workspace.inbox)
    return workspace


def publish(
    workspace: Workspace, sftp: ListrakSftp, **sftp_settings: object
) -> dg.ExecuteInProcessResult:
    """Build the four tables and send their files, as the refresh job does."""
    workspace.settings(sftp=sftp_settings)
    return dg.materialize(
        [*RAW_ASSETS, *CLEAN_ASSETS, *FILE_SINKS, *REFERENTIAL_CHECKS],
        selection=dg.AssetSelection.assets(
            *(k for t in FILE_ASSETS for k in (raw_key(t), clean_key(t), rejects_key(t)))
        )
        | dg.AssetSelection.assets(*(file_key(t) for t in FILE_ASSETS)),
        resources={**workspace.resources(), "sftp": sftp},
        instance=workspace.instance,
        raise_on_error=False,
    )


def run_day(workspace: Workspace, result: dg.ExecuteInProcessResult) -> str:
    record = workspace.instance.get_run_record_by_id(result.run_id)
    assert record is not None
    started = record.create_timestamp
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return started.astimezone(dt.UTC).strftime("%Y%m%d")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_sinks_are_wired_downstream_of_their_clean_tables() -> None:
    graph = defs.resolve_asset_graph()
    for table, name in FILE_ASSETS.items():
        node = graph.get(file_key(table))
        assert file_key(table).to_user_string() == f"listrak/{name}"
        assert node.parent_keys == {clean_key(table)}
        assert node.group_name == "listrak"


def test_the_four_files_arrive_under_listraks_names_holding_the_clean_tables(
    sftp_server: SftpServer, sample: Workspace
) -> None:
    remote, local = sftp_server.folder("files")
    result = publish(sample, sftp_server.resource(), remote_folder=remote)
    assert result.success, failure_messages(result)

    day = run_day(sample, result)
    names = {t: n.format(date=day) for t, n in NAMES.items()}
    assert listing(local) == sorted(names.values())
    for table, name in names.items():
        spec, clean = TABLES[table], sample.clean(table)
        data = (local / name).read_bytes()
        assert data.split(b"\n", 1)[0].decode() == ",".join(spec.column_names)
        assert read_listrak_csv(data, spec).equals(as_written(clean, spec))

        meta = materialization(result, file_key(table))
        assert meta["remote_path"] == f"{remote}/{name}"
        assert meta["rows"] == meta["dagster/row_count"] == clean.height
        assert meta["bytes"] == len(data)
        assert meta["files"] == [
            {"path": f"{remote}/{name}", "rows": clean.height, "bytes": len(data), "attempts": 1}
        ]
        assert meta["duration_seconds"] > 0 and meta["throughput_mb_per_s"] > 0
        assert meta["removed_stale"] == []


def test_gzip_split_files_with_done_markers(sftp_server: SftpServer, sample: Workspace) -> None:
    remote, local = sftp_server.folder("options")
    result = publish(
        sample, sftp_server.resource(), remote_folder=remote, compression="gzip",
        split_rows=100, done_marker=True,
    )  # fmt: skip
    assert result.success, failure_messages(result)

    day = run_day(sample, result)
    files = listing(local)
    for table, template in NAMES.items():
        spec, clean = TABLES[table], sample.clean(table)
        stem = template.format(date=day).removesuffix(".csv")
        parts = -(-clean.height // 100)
        names = [f"{stem}_{i:03d}.csv.gz" for i in range(1, parts + 1)]
        if parts == 1:
            names = [f"{stem}.csv.gz"]  # a table of at most 100 rows is not split
        mine = [f for f in files if f.startswith((stem + "_", stem + "."))]
        assert mine == sorted(names + [n + ".DONE" for n in names])
        frames = [read_listrak_csv(gzip.decompress((local / n).read_bytes()), spec) for n in names]
        last = clean.height - 100 * (parts - 1)
        assert [f.height for f in frames] == [100] * (parts - 1) + [last]
        assert pl.concat(frames).equals(as_written(clean, spec))
        assert all((local / (n + ".DONE")).read_bytes() == b"" for n in names)
        meta = materialization(result, file_key(table))
        assert len(meta["files"]) == parts and meta["rows"] == clean.height


def test_a_rerun_of_the_day_replaces_the_files_and_removes_other_shapes(
    sandbox_server: SftpServer, sample: Workspace
) -> None:
    remote, local = sandbox_server.folder("rerun")
    sftp = sandbox_server.resource()
    first = publish(sample, sftp, remote_folder=remote, split_rows=100, done_marker=True)
    assert first.success, failure_messages(first)
    assert len(listing(local)) > 8

    second = publish(sample, sftp, remote_folder=remote, compression="zip")
    assert second.success, failure_messages(second)
    day = run_day(sample, second)
    assert run_day(sample, first) == day  # both runs fell on one day
    zips = {t: n.format(date=day).replace(".csv", ".zip") for t, n in NAMES.items()}
    assert listing(local) == sorted(zips.values())
    removed = materialization(second, file_key("customers"))["removed_stale"]
    stem = f"Listrak_Customer_{day}"
    assert removed and all(n.startswith(stem + "_") for n in removed)


def test_unset_variables_fail_only_the_file_sinks_naming_them(
    sample: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HOST", "PORT", "USERNAME", "PASSWORD", "PRIVATE_KEY", "KNOWN_HOSTS"):
        monkeypatch.delenv(f"LISTRAK_SFTP_{variable}", raising=False)
    result = publish(sample, ListrakSftp.from_env())
    assert not result.success
    messages = failure_messages(result)
    assert len(messages) == 4
    assert all("set LISTRAK_SFTP_HOST and LISTRAK_SFTP_USERNAME" in m for m in messages)
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {clean_key(t) for t in FILE_ASSETS} <= built


def test_an_untrusted_host_key_stops_the_sinks_and_the_settings_fingerprint_trusts_it(
    sftp_server: SftpServer, sample: Workspace
) -> None:
    remote, local = sftp_server.folder("trust")
    sftp = sftp_server.resource(known_hosts=None)
    refused = publish(sample, sftp, remote_folder=remote)
    messages = failure_messages(refused)
    assert len(messages) == 4
    assert all(sftp_server.host_key_fingerprint in m and "not trusted" in m for m in messages)
    assert listing(local) == []

    trusted = publish(
        sample, sftp, remote_folder=remote, host_key_fingerprint=sftp_server.host_key_fingerprint
    )
    assert trusted.success, failure_messages(trusted)
    assert len(listing(local)) == 4


def test_a_rerun_with_fewer_parts_leaves_only_the_new_parts(
    sftp_server: SftpServer, sample: Workspace
) -> None:
    """Split files re-sent in fewer parts: no old part is left beside the new ones."""
    remote, local = sftp_server.folder("fewer")
    sftp = sftp_server.resource()
    first = publish(sample, sftp, remote_folder=remote, split_rows=60)
    assert first.success, failure_messages(first)
    second = publish(sample, sftp, remote_folder=remote, split_rows=150)
    assert second.success, failure_messages(second)

    stem = NAMES["customers"].format(date=run_day(sample, second)).removesuffix(".csv")
    spec, clean = TABLES["customers"], sample.clean("customers")
    parts = -(-clean.height // 150)
    names = [f"{stem}_{i:03d}.csv" for i in range(1, parts + 1)]
    assert [f for f in listing(local) if f.startswith(stem)] == names
    frames = [read_listrak_csv((local / n).read_bytes(), spec) for n in names]
    assert pl.concat(frames).equals(as_written(clean, spec))
    removed = materialization(second, file_key("customers"))["removed_stale"]
    assert removed == [f"{stem}_{i:03d}.csv" for i in range(parts + 1, -(-clean.height // 60) + 1)]


@pytest.mark.parametrize("guard", [True, False])
def test_the_formula_guard_setting_reaches_the_customer_file(
    sshd_server: SftpServer, sample: Workspace, guard: bool
) -> None:
    names = ["=1+1", "+44 call", "-Ann", "@home", "  =SUM(A1)", "Ann-Marie"]
    path = sample.inbox / "customers.csv"
    raw = pl.read_csv(path, infer_schema=False)
    raw = raw.with_columns(
        pl.Series("FirstName", [*names, *raw["FirstName"][len(names) :]], dtype=pl.String)
    )
    raw.write_csv(path)
    remote, local = sshd_server.folder("guard")
    result = publish(sample, sshd_server.resource(), remote_folder=remote, formula_guard=guard)
    assert result.success, failure_messages(result)

    spec, clean = TABLES["customers"], sample.clean("customers")
    sent = pl.read_csv(
        local / NAMES["customers"].format(date=run_day(sample, result)), infer_schema=False
    )
    by_email = dict(zip(sent["email"], sent["firstname"], strict=True))
    for email, first in zip(clean["email"], clean["firstname"], strict=True):
        formula = first is not None and first.lstrip()[:1] in {"=", "+", "-", "@"}
        expected = "'" + first if guard and formula else first
        assert by_email[email] == expected, first
    # The clean table keeps the text as it came; only the file carries the prefix.
    assert {"=1+1", "-Ann", "@home", "Ann-Marie"} <= set(clean["firstname"])
    assert read_listrak_csv(local / NAMES["customers"].format(date=run_day(sample, result)), spec)[
        "mobilephone"
    ].equals(as_written(clean, spec)["mobilephone"])


def test_a_missing_export_fails_its_file_and_leaves_the_last_one_in_place(
    sftp_server: SftpServer, sample: Workspace
) -> None:
    """Missing is not empty: an absent products export fails the product file, saying what
    is missing and where it was looked for, and the file of the last run stays as it was;
    the other files go out. A header-only export sends an empty file, on purpose."""
    remote, local = sftp_server.folder("missing")
    sftp = sftp_server.resource()
    first = publish(sample, sftp, remote_folder=remote)
    assert first.success, failure_messages(first)
    product = NAMES["products"].format(date=run_day(sample, first))
    before = (local / product).read_bytes()
    assert before.count(b"\n") > 1

    (sample.inbox / "products.parquet").unlink()
    second = publish(sample, sftp, remote_folder=remote)
    assert not second.success
    [message] = failure_messages(second)
    assert message.startswith(
        f"no products files in {sample.inbox}: the products file is not uploaded"
    )
    assert "header-only products.csv" in message and "sftp.enabled: false" in message
    assert (local / product).read_bytes() == before
    sent = {e.asset_key for e in second.get_asset_materialization_events()}
    assert file_key("products") not in sent
    assert {file_key(t) for t in ("customers", "orders", "order_items")} <= sent

    header = ",".join(TABLES["products"].column_names)
    sample.write("products.csv", header + "\n")
    emptied = publish(sample, sftp, remote_folder=remote)
    assert emptied.success, failure_messages(emptied)
    assert materialization(emptied, file_key("products"))["rows"] == 0
    assert (local / product).read_bytes().count(b"\n") == 1
