"""The inbox's archive at a URL (`archive: sftp://...`): consumed files are copied to the day's
folder on a real OpenSSH sshd, checked, and only then removed from the inbox; a name already
taken that day gets `_2`; replay, the missing-input rule, retention and erasure read and
rewrite the files there. Faults are injected on `memory://`-backed filesystems: whatever
fails, the inbox file stays."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
import fsspec.config
import pytest
import upath.registry
from fsspec.implementations.memory import MemoryFileSystem
from upath import UPath
from upath.implementations.memory import MemoryPath

from listrak_assets.definitions import defs
from listrak_assets.defs import email_sink
from listrak_assets.defs.audience_sink import require_audience
from listrak_assets.defs.keys import RETENTION_KEY
from listrak_assets.defs.local_copies import LocalCopies
from listrak_assets.erasure.scrub import Erasure, Matcher, scrub_inputs
from listrak_assets.inbox.archive import ever_archived, move_into
from listrak_assets.required_input import InputMissing
from listrak_assets.settings import load_settings
from listrak_assets.storage import CopyMismatch, location, modified, rename_no_replace
from listrak_assets.storage_trust import KNOWN_HOSTS_ENV
from listrak_assets.suppression import Suppression, digest
from listrak_assets_tests.conftest import Workspace, failure_messages, materialization
from listrak_assets_tests.sftp_servers import SftpServer
from listrak_assets_tests.test_archive import DAY, _archive_after, _head, _land, _today

FORGOTTEN = "forget.me@example.org"
SALT = "erasure-test-salt-0123456789abcdef"


@pytest.fixture
def on_sshd(sshd_server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """An archive URL on the test sshd and the folder it is on disk; fsspec logs in with
    what its environment variables would give it, and the server's key is in known_hosts."""
    remote, local = sshd_server.folder("archive")
    monkeypatch.setitem(fsspec.config.conf, "sftp", sshd_server.fsspec_login())
    monkeypatch.setenv(KNOWN_HOSTS_ENV, str(sshd_server.known_hosts))
    return sshd_server.url(remote), local


def _archive_workspace(workspace: Workspace, url: str) -> UPath:
    workspace.settings(inbox_archive=True, archive=url)
    archive = load_settings(workspace.config).archive
    assert isinstance(archive, UPath) and archive.protocol == "sftp"
    return archive


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- through Dagster, on a real sshd ---------------------------------------------------------


def test_a_successful_run_moves_what_it_consumed_to_the_url(
    workspace: Workspace, on_sshd: tuple[str, Path]
) -> None:
    url, on_server = on_sshd
    _archive_workspace(workspace, url)
    _land(workspace, "customers.csv", "orders.csv")
    result = workspace.materialize("customers", "orders")
    assert result.success, failure_messages(result)

    _archive_after(workspace, result)
    assert not list(workspace.inbox.iterdir())
    day = on_server / _today()
    assert _visible(day) == ["customers.csv", "orders.csv"]  # no temporary file left
    assert (day / "orders.csv").read_text() == _head("orders.csv")

    # The next export of customers that day: archived beside the first, never over it.
    path = workspace.write("customers.csv", _head("customers.csv") + "\n")
    os.utime(path, (time.time() - 60, time.time() - 60))
    again = workspace.materialize("customers")
    assert again.success, failure_messages(again)
    _archive_after(workspace, again)
    assert not list(workspace.inbox.iterdir())
    assert _visible(day) == ["customers.csv", "customers_2.csv", "orders.csv"]
    assert (day / "customers.csv").read_text() == _head("customers.csv")
    assert (day / "customers_2.csv").read_text() == _head("customers.csv") + "\n"


def test_the_sftp_claim_never_replaces_a_file(on_sshd: tuple[str, Path]) -> None:
    url, on_server = on_sshd
    root = location(url)
    assert isinstance(root, UPath)
    (root / "taken.csv").write_bytes(b"first")
    (root / ".staged.tmp").write_bytes(b"second")
    assert not rename_no_replace(root / ".staged.tmp", root / "taken.csv")
    assert (on_server / "taken.csv").read_bytes() == b"first"
    assert (on_server / ".staged.tmp").read_bytes() == b"second"  # still there, unclaimed
    assert rename_no_replace(root / ".staged.tmp", root / "free.csv")
    assert _visible(on_server) == ["free.csv", "taken.csv"]


def test_the_replay_command_copies_a_day_back_from_the_url(
    workspace: Workspace, sshd_server: SftpServer, on_sshd: tuple[str, Path]
) -> None:
    url, on_server = on_sshd
    archive = _archive_workspace(workspace, url)
    _land(workspace, "customers.csv")
    move_into(workspace.inbox / "customers.csv", archive / DAY.isoformat())
    assert (on_server / DAY.isoformat() / "customers.csv").read_text() == _head("customers.csv")
    assert not list(workspace.inbox.iterdir())

    # Another process, logged in through fsspec's environment variables as a deployment is
    # (the known_hosts file is in LISTRAK_STORAGE_KNOWN_HOSTS already).
    env = dict(os.environ)
    for option, value in sshd_server.fsspec_login().items():
        env[f"FSSPEC_SFTP_{option.upper()}"] = value
    command = [sys.executable, "-m", "listrak_assets.replay", "--config", str(workspace.config)]
    done = subprocess.run(
        [*command, DAY.isoformat()], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    # The whole URL, host and port included (`str()` of the path would drop them).
    assert f"from {url}/{DAY.isoformat()} to" in done.stdout
    assert (workspace.inbox / "customers.csv").read_text() == _head("customers.csv")
    assert (on_server / DAY.isoformat() / "customers.csv").exists()  # the archive keeps it

    missing = subprocess.run(
        [*command, "2026-11-30"], capture_output=True, text=True, check=False, env=env
    )
    assert missing.returncode == 1
    assert f"{url}/2026-11-30 holds no input file" in missing.stderr


def test_an_input_archived_at_the_url_is_unchanged_not_missing(
    workspace: Workspace, on_sshd: tuple[str, Path]
) -> None:
    archive = _archive_workspace(workspace, on_sshd[0])
    conf = load_settings(workspace.config)
    with pytest.raises(InputMissing):  # never delivered: missing
        require_audience(email_sink.EMAIL, conf)
    _land(workspace, "email_audience.csv")
    move_into(workspace.inbox / "email_audience.csv", archive / DAY.isoformat())
    assert ever_archived(archive, "email_audience")
    assert not ever_archived(archive, "sms_audience")
    require_audience(email_sink.EMAIL, conf)  # consumed once: unchanged


def test_retention_deletes_old_archived_files_at_the_url(
    workspace: Workspace, on_sshd: tuple[str, Path]
) -> None:
    archive = _archive_workspace(workspace, on_sshd[0])
    _land(workspace, "customers.csv", "orders.csv")
    folder = archive / "2026-10-01"
    old = move_into(workspace.inbox / "customers.csv", folder)
    new = move_into(workspace.inbox / "orders.csv", folder)
    # Set on the server, through SFTP: archived 40 days ago.
    then = time.time() - 40 * 86400
    old.fs.ftp.utime(old.path, (then, then))
    assert abs(modified(old).timestamp() - then) < 1

    result = dg.materialize(
        list(defs.assets or []),
        selection=dg.AssetSelection.assets(RETENTION_KEY),
        resources=workspace.resources(),
        instance=workspace.instance,
        raise_on_error=False,
    )
    assert result.success, failure_messages(result)
    assert materialization(result, RETENTION_KEY)["archive_files_deleted"] == 1
    assert not old.exists()
    assert new.exists()
    assert _visible(on_sshd[1] / "2026-10-01") == ["orders.csv"]


def test_erasure_rewrites_an_archived_file_at_the_url(
    workspace: Workspace, on_sshd: tuple[str, Path]
) -> None:
    url, on_server = on_sshd
    archive = _archive_workspace(workspace, url)
    head = _head("email_audience.csv")
    header = head.splitlines()[0]
    kept = head.splitlines()[1]
    gone = ",".join([f" {FORGOTTEN.upper()} ", *kept.split(",")[1:]])
    path = workspace.write("email_audience.csv", f"{header}\n{gone}\n{kept}\n")
    os.utime(path, (time.time() - 60, time.time() - 60))
    archived = move_into(path, archive / DAY.isoformat())
    stamp = time.time() - 5 * 86400
    archived.fs.ftp.utime(archived.path, (stamp, stamp))

    conf = load_settings(workspace.config)
    copies = LocalCopies.of(conf)
    assert archive in copies.inputs  # what the forget sink's local erasure walks
    matcher = Matcher(Suppression(SALT, emails=frozenset({digest(SALT, "email", FORGOTTEN)})))
    erasure = Erasure()
    for folder in copies.inputs:
        scrub_inputs(folder, matcher, erasure, by_origin=folder == conf.inbox)

    on_disk = on_server / DAY.isoformat() / "email_audience.csv"
    assert on_disk.read_text() == f"{header}\n{kept}\n"
    assert erasure.removed == {f"{archive.name}/{DAY.isoformat()}/email_audience.csv": 1}
    # It keeps its age: retention still counts from when it was archived.
    assert abs(on_disk.stat().st_mtime - stamp) < 1
    assert _visible(on_server / DAY.isoformat()) == ["email_audience.csv"]


# --- faults: the inbox file stays -------------------------------------------------------------


class _Faulty(MemoryFileSystem):
    """The memory filesystem with one step that goes wrong (`fault`)."""

    protocol = "faulty"
    fault = ""

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, str) and path.startswith("faulty://"):
            path = path.removeprefix("faulty:/")
        return super()._strip_protocol(path)

    def put_file(self, lpath: str, rpath: str, *args: Any, **kwargs: Any) -> None:
        if self.fault == "write":
            raise OSError(28, "No space left on device")
        data = Path(lpath).read_bytes()
        if self.fault == "short":
            data = data[:-1]  # a transfer that lost its last byte
        elif self.fault == "garbled":
            data = bytes([data[0] ^ 1]) + data[1:]  # the same size, other bytes
        self.pipe_file(rpath, data)

    def mv(self, path1: str, path2: str, *args: Any, **kwargs: Any) -> None:
        if self.fault == "claim":
            raise OSError(5, "Input/output error")
        super().mv(path1, path2, *args, **kwargs)


@pytest.fixture
def faulty() -> Iterator[UPath]:
    fsspec.register_implementation("faulty", _Faulty, clobber=True)
    upath.registry.register_implementation("faulty", MemoryPath, clobber=True)
    root = UPath(f"faulty:///archive-{id(object())}")
    yield root
    _Faulty.fault = ""
    if root.exists():
        root.fs.rm(root.path, recursive=True)


def test_a_move_to_a_url_is_checked_before_the_inbox_file_goes(
    tmp_path: Path, faulty: UPath
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text("email\nann@example.com\n")
    target = move_into(source, faulty / DAY.isoformat())
    assert not source.exists()
    assert target.read_bytes() == b"email\nann@example.com\n"
    assert [p.name for p in (faulty / DAY.isoformat()).iterdir()] == ["customers.csv"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("write", "No space left"),
        ("short", "21 bytes stored of 22 sent"),
        ("garbled", "bytes read back differ"),
        ("claim", "Input/output error"),
    ],
)
def test_a_failed_move_to_a_url_leaves_the_inbox_file(
    tmp_path: Path, faulty: UPath, fault: str, error: str
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text("email\nann@example.com\n")
    before = hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns
    _Faulty.fault = fault
    with pytest.raises(OSError, match=error) as err:
        move_into(source, faulty / DAY.isoformat())
    if fault in ("short", "garbled"):
        assert isinstance(err.value, CopyMismatch)
    assert (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns) == before
    folder = faulty / DAY.isoformat()
    # Nothing archived, and the temporary copy removed.
    assert not folder.exists() or not list(folder.iterdir())


def test_settings_take_an_archive_url_and_keep_a_folder_local(tmp_path: Path) -> None:
    config = tmp_path / "listrak.yaml"
    config.write_text("archive: memory:///shared/archive\n")
    archive = load_settings(config).archive
    assert isinstance(archive, UPath) and archive.path == "/shared/archive"
    config.write_text("archive: kept\n")
    assert load_settings(config).archive == tmp_path / "kept"
