"""The SFTP uploader against a real OpenSSH sshd and against the sandbox server (each test runs
on both): logins, host-key trust, atomic replacement, and recovery from dropped connections.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from listrak_assets.files import variants
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.sftp import (
    HostKeyError,
    SftpAuthError,
    SftpConfigError,
    SftpUploadError,
)
from listrak_assets.sftp.hostkeys import fingerprint
from listrak_assets.sftp.protocol import (
    MAX_WRITE_SIZE,
    SAFE_WRITE_SIZE,
    Progress,
    RawSftp,
    StatusError,
)
from listrak_assets.sftp.uploader import (
    HOST_ID,
    ORPHAN_AFTER_SECONDS,
    SftpUploader,
    new_writer,
    temp_path,
    temp_target,
)
from listrak_assets_tests.sftp_servers import CuttingProxy, SftpServer
from listrak_assets_tests.sshd import new_host_key

NAME = "Listrak_Customer_20260102.csv"
BIG = 12 * 1024 * 1024 + 12345  # several write requests and SSH windows, not a round size


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.bin"
    path.write_bytes(os.urandom(BIG))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _small(tmp_path: Path, text: str = "email\nada@example.com\n") -> Path:
    path = tmp_path / "small.csv"
    path.write_text(text)
    return path


def _needs_password(server: SftpServer) -> None:
    if server.password is None:
        # sshd checks passwords only when it runs as root; CI runs as root.
        message = "password logins to sshd need root (a throwaway account)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# -- uploads ---------------------------------------------------------------------------------


def test_uploads_under_the_final_name_with_no_temporary_file_left(
    sftp_server: SftpServer, big_file: Path
) -> None:
    remote, local = sftp_server.folder("upload")
    with SftpUploader(sftp_server.config()) as uploader:
        result = uploader.upload(big_file, f"{remote}/{NAME}")
    assert os.listdir(local) == [NAME]
    assert _digest(local / NAME) == _digest(big_file)
    assert (result.size, result.attempts, result.sent) == (BIG, 1, BIG)
    assert result.remote_path == f"{remote}/{NAME}"
    # OpenSSH announces its limit (limits@openssh.com); a server that doesn't gets 32 KiB.
    expected = MAX_WRITE_SIZE if sftp_server.kind == "sshd" else SAFE_WRITE_SIZE
    assert result.write_size == expected


def test_an_empty_file_uploads(sftp_server: SftpServer, tmp_path: Path) -> None:
    remote, local = sftp_server.folder("empty")
    empty = tmp_path / "empty.csv"
    empty.touch()
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.upload(empty, f"{remote}/{NAME}")
    assert os.listdir(local) == [NAME]
    assert (local / NAME).stat().st_size == 0


def test_a_rerun_replaces_the_file(sftp_server: SftpServer, tmp_path: Path) -> None:
    remote, local = sftp_server.folder("rerun")
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.upload(_small(tmp_path, "old\n"), f"{remote}/{NAME}")
        uploader.upload(_small(tmp_path, "new, longer\n"), f"{remote}/{NAME}")
    assert os.listdir(local) == [NAME]
    assert (local / NAME).read_text() == "new, longer\n"


def test_a_marker_is_an_empty_file_written_atomically(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    remote, local = sftp_server.folder("marker")
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
        uploader.put_marker(f"{remote}/{NAME}.DONE")
    assert sorted(os.listdir(local)) == [NAME, f"{NAME}.DONE"]
    assert (local / f"{NAME}.DONE").read_bytes() == b""


def test_stale_shapes_of_a_file_are_removed_and_nothing_else(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    remote, local = sftp_server.folder("stale")
    stale = [
        "Listrak_Customer_20260102_001.csv",
        "Listrak_Customer_20260102_002.csv.gz",
        "Listrak_Customer_20260102.zip",
        "Listrak_Customer_20260102.csv.DONE",
        ".Listrak_Customer_20260102_003.csv.part",  # left by a failed run
        ".Listrak_Customer_20260102.csv.aside",  # left by a run killed while replacing
    ]
    others = ["Listrak_Customer_20260101.csv", "Listrak_Order_Feed_20260102.csv", "notes.txt"]
    for name in [*stale, *others]:
        (local / name).write_text("x")
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
        removed = uploader.remove_stale(remote, variants(NAME), keep={NAME})
    assert removed == sorted(stale)
    assert sorted(os.listdir(local)) == sorted([NAME, *others])


def test_a_missing_remote_folder_is_reported_with_the_setting_to_fix(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    remote, _ = sftp_server.folder("exists")
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.check_folder(remote)
        with pytest.raises(SftpConfigError, match="sftp.remote_folder"):
            uploader.check_folder(f"{remote}/missing")
        # Writing there is a refusal by the server: reported at once, not retried.
        with pytest.raises(SftpUploadError, match="refused"):
            uploader.upload(_small(tmp_path), f"{remote}/missing/{NAME}")


# -- logins ----------------------------------------------------------------------------------


def test_password_login(sftp_server: SftpServer, tmp_path: Path) -> None:
    _needs_password(sftp_server)
    remote, local = sftp_server.folder("password")
    config = sftp_server.config(private_key=None)
    with SftpUploader(config) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
    assert (local / NAME).is_file()


def test_a_wrong_password_is_refused_with_what_to_check(sftp_server: SftpServer) -> None:
    _needs_password(sftp_server)
    wrong = "not-the-password-" + "x" * 8
    config = sftp_server.config(password=wrong, private_key=None)
    with SftpUploader(config) as uploader, pytest.raises(SftpAuthError) as caught:
        uploader.connect()
    message = str(caught.value)
    assert "refused the login" in message
    assert "LISTRAK_SFTP_PASSWORD" in message and "IP address" in message
    assert wrong not in message and wrong not in repr(config)


def test_key_file_login(sftp_server: SftpServer, tmp_path: Path) -> None:
    remote, local = sftp_server.folder("keyfile")
    config = sftp_server.config(password=None, private_key=str(sftp_server.keys.plain))
    with SftpUploader(config) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
    assert (local / NAME).is_file()


def test_key_text_with_a_passphrase(sftp_server: SftpServer, tmp_path: Path) -> None:
    remote, local = sftp_server.folder("keytext")
    config = sftp_server.config(
        password=None,
        private_key=sftp_server.keys.encrypted.read_text(),
        private_key_passphrase=sftp_server.keys.passphrase,
    )
    with SftpUploader(config) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
    assert (local / NAME).is_file()


@pytest.mark.parametrize(
    ("passphrase", "expected"),
    [
        (None, "is encrypted: set LISTRAK_SFTP_PRIVATE_KEY_PASSPHRASE"),
        ("wrong passphrase", "wrong LISTRAK_SFTP_PRIVATE_KEY_PASSPHRASE"),
    ],
)
def test_an_encrypted_key_needs_its_passphrase(
    sftp_server: SftpServer, passphrase: str | None, expected: str
) -> None:
    config = sftp_server.config(
        password=None,
        private_key=str(sftp_server.keys.encrypted),
        private_key_passphrase=passphrase,
    )
    with SftpUploader(config) as uploader, pytest.raises(SftpConfigError, match=expected):
        uploader.connect()


def test_no_password_and_no_key_is_a_configuration_error(sftp_server: SftpServer) -> None:
    config = sftp_server.config(password=None, private_key=None)
    with (
        SftpUploader(config) as uploader,
        pytest.raises(SftpConfigError, match="LISTRAK_SFTP_PASSWORD or LISTRAK_SFTP_PRIVATE_KEY"),
    ):
        uploader.connect()


# -- host keys -------------------------------------------------------------------------------


def test_a_configured_fingerprint_is_trusted(sftp_server: SftpServer, tmp_path: Path) -> None:
    remote, local = sftp_server.folder("fingerprint")
    config = sftp_server.config(
        known_hosts=None, host_key_fingerprint=sftp_server.host_key_fingerprint
    )
    with SftpUploader(config) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
    assert (local / NAME).is_file()


def test_an_unknown_host_key_is_refused_with_its_fingerprint(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    remote, local = sftp_server.folder("unknown")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    for known_hosts, reason in [
        (None, "neither LISTRAK_SFTP_KNOWN_HOSTS nor sftp.host_key_fingerprint is set"),
        (empty, "has no key for"),
    ]:
        config = sftp_server.config(known_hosts=known_hosts)
        with SftpUploader(config) as uploader, pytest.raises(HostKeyError) as caught:
            uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
        message = str(caught.value)
        assert reason in message
        assert sftp_server.host_key_fingerprint in message
        assert "ssh-keyscan" in message and "sftp.host_key_fingerprint:" in message
    assert os.listdir(local) == []


def test_a_changed_host_key_is_refused(sftp_server: SftpServer, tmp_path: Path) -> None:
    remote, local = sftp_server.folder("changed")
    other = new_host_key(tmp_path / "other_key")
    wrong_known_hosts = tmp_path / "known_hosts"
    wrong_known_hosts.write_text(
        sftp_server.known_hosts.read_text().split()[0]
        + f" {other.get_name()} {other.get_base64()}\n"
    )
    for changes in [
        {"known_hosts": None, "host_key_fingerprint": fingerprint(other)},
        {"known_hosts": wrong_known_hosts},
        # The two sources disagree: the key must not be trusted on the word of one.
        {"host_key_fingerprint": fingerprint(other)},
    ]:
        config = sftp_server.config(**changes)
        with SftpUploader(config) as uploader, pytest.raises(HostKeyError) as caught:
            uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
        message = str(caught.value)
        assert "The key has changed" in message
        assert sftp_server.host_key_fingerprint in message and fingerprint(other) in message
    assert os.listdir(local) == []


# -- dropped connections ---------------------------------------------------------------------


def _via(proxy: CuttingProxy, server: SftpServer) -> dict[str, object]:
    """Connect through the relay: another port, so the host key is trusted by fingerprint."""
    return {
        "port": proxy.port,
        "known_hosts": None,
        "host_key_fingerprint": server.host_key_fingerprint,
    }


def test_a_dropped_connection_resumes_and_no_partial_file_is_ever_visible(
    sftp_server: SftpServer, big_file: Path
) -> None:
    remote, local = sftp_server.folder("dropped")
    seen_at_cut: list[list[str]] = []
    target = (sftp_server.host, sftp_server.port)
    with CuttingProxy(
        target, cuts=[BIG // 3], on_cut=lambda: seen_at_cut.append(os.listdir(local))
    ) as proxy:
        with SftpUploader(sftp_server.config(**_via(proxy, sftp_server))) as uploader:
            result = uploader.upload(big_file, f"{remote}/{NAME}")
        assert proxy.cut == 1 and proxy.connections == 2
    # At the cut only the temporary file existed; afterwards only the complete file does.
    assert seen_at_cut == [[f".{NAME}.{uploader.writer}.part"]]
    assert os.listdir(local) == [NAME]
    assert _digest(local / NAME) == _digest(big_file)
    assert result.attempts == 2
    # Resumed from what the server had confirmed: sent again only what was in flight (at most
    # the SSH window, 2 MiB), where starting over would have sent the first third again.
    assert BIG < result.sent < BIG + BIG // 4


def test_a_drop_during_a_rerun_leaves_the_previous_file_whole(
    sftp_server: SftpServer, big_file: Path, tmp_path: Path
) -> None:
    remote, local = sftp_server.folder("rerun_drop")
    previous = _small(tmp_path, "the previous complete file\n")
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.upload(previous, f"{remote}/{NAME}")
    seen: list[bytes] = []
    target = (sftp_server.host, sftp_server.port)
    with (
        CuttingProxy(
            target, cuts=[BIG // 2], on_cut=lambda: seen.append((local / NAME).read_bytes())
        ) as proxy,
        SftpUploader(sftp_server.config(**_via(proxy, sftp_server))) as uploader,
    ):
        uploader.upload(big_file, f"{remote}/{NAME}")
    assert seen == [previous.read_bytes()]
    assert _digest(local / NAME) == _digest(big_file)
    assert os.listdir(local) == [NAME]


def test_retries_are_bounded_and_a_failed_upload_leaves_no_final_file(
    sftp_server: SftpServer, big_file: Path
) -> None:
    remote, local = sftp_server.folder("failing")
    target = (sftp_server.host, sftp_server.port)
    attempts = 3
    with CuttingProxy(target, cuts=[BIG // 4] * 10) as proxy:
        config = sftp_server.config(**_via(proxy, sftp_server), max_attempts=attempts)
        with SftpUploader(config) as uploader, pytest.raises(SftpUploadError) as caught:
            uploader.upload(big_file, f"{remote}/{NAME}")
        assert proxy.connections == attempts
    assert f"failed after {attempts} attempts" in str(caught.value)
    assert NAME not in os.listdir(local)


def test_a_server_that_is_down_fails_after_the_attempts(sftp_server: SftpServer) -> None:
    with CuttingProxy((sftp_server.host, sftp_server.port), cuts=[]) as proxy:
        port = proxy.port
    config = sftp_server.config(port=port, max_attempts=2)  # nothing listens there any more
    with SftpUploader(config) as uploader, pytest.raises(SftpUploadError, match="2 attempts"):
        uploader.connect()


def test_a_refused_write_stops_the_upload_and_keeps_the_channel_in_step(
    sftp_server: SftpServer, big_file: Path
) -> None:
    remote, local = sftp_server.folder("refused")
    (local / NAME).write_text("read-only handle\n")
    transport = paramiko.Transport((sftp_server.host, sftp_server.port))
    try:
        key = paramiko.Ed25519Key.from_private_key_file(str(sftp_server.keys.plain))
        transport.connect(username=sftp_server.username, pkey=key)
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        raw = RawSftp(sftp.get_channel())
        handle = sftp.open(f"{remote}/{NAME}", "r")  # writes to it are refused
        progress = Progress()
        with big_file.open("rb") as source, pytest.raises(StatusError):
            raw.write(handle.handle, source, 0, BIG, progress, write_size=32768, max_requests=8)
        assert progress.confirmed == 0
        # Every reply was read: the next raw request gets its own answer, not a stray one.
        assert raw.write_size_limit() in (SAFE_WRITE_SIZE, MAX_WRITE_SIZE)
        assert (local / NAME).read_text() == "read-only handle\n"
    finally:
        transport.close()


# -- servers without posix-rename ------------------------------------------------------------


def test_without_posix_rename_a_rerun_still_replaces_the_file(
    sandbox_server: SftpServer, tmp_path: Path
) -> None:
    root = tmp_path / "served"
    with run_sandbox_sftp(root, posix_rename=False) as server:
        config = sandbox_server.config(
            host=server.host,
            port=server.port,
            password=server.password,
            private_key=None,
            known_hosts=server.known_hosts,
        )
        with SftpUploader(config) as uploader:
            uploader.upload(_small(tmp_path, "old\n"), f"/{NAME}")
            uploader.upload(_small(tmp_path, "new\n"), f"/{NAME}")
    assert os.listdir(root) == [NAME]
    assert (root / NAME).read_text() == "new\n"


def test_temporary_names_are_hidden_in_the_same_folder_and_name_their_writer() -> None:
    writer = new_writer()
    assert temp_path(f"/in/{NAME}", writer) == f"/in/.{NAME}.{writer}.part"
    assert writer.startswith(f"{HOST_ID}-{os.getpid()}-") and new_writer() != writer
    assert temp_target(f".{NAME}.{writer}.part") == NAME
    assert temp_target(f".{NAME}.part") == temp_target(f".{NAME}.aside") == NAME


# -- two writers of one file -----------------------------------------------------------------


def _hidden(local: Path) -> list[str]:
    return sorted(n for n in os.listdir(local) if n.startswith("."))


def test_two_writers_of_one_file_never_share_a_temporary_file(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    """Two runs uploading the same name at once (a sensor run and a manual one): each writes
    its own temporary file, so neither renames the other's half-written bytes into place; the
    last rename wins and the file is whole."""
    remote, local = sftp_server.folder("two-writers")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a_file, b_file = _small(tmp_path / "a", "from a\n"), _small(tmp_path / "b", "from b, longer\n")
    with (
        SftpUploader(sftp_server.config()) as a,
        SftpUploader(sftp_server.config()) as b,
    ):
        assert a.writer != b.writer
        a_job = a.stage(a_file, f"{remote}/{NAME}")
        b_job = b.stage(b_file, f"{remote}/{NAME}")
        assert _hidden(local) == sorted([f".{NAME}.{a.writer}.part", f".{NAME}.{b.writer}.part"])
        a.commit(a_job)
        assert (local / NAME).read_text() == "from a\n"
        b.commit(b_job)
    assert os.listdir(local) == [NAME]
    assert (local / NAME).read_text() == "from b, longer\n"


def test_cleaning_up_never_removes_a_live_writers_temporary_file(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    """A publication removes what earlier runs left, but not the file another writer is
    still uploading: that writer then renames it into place as if alone."""
    remote, local = sftp_server.folder("live")
    (tmp_path / "b").mkdir()
    with (
        SftpUploader(sftp_server.config()) as a,
        SftpUploader(sftp_server.config()) as b,
    ):
        b_job = b.stage(_small(tmp_path / "b", "from b\n"), f"{remote}/{NAME}")
        a.upload(_small(tmp_path, "from a\n"), f"{remote}/{NAME}")
        assert a.remove_stale(remote, variants(NAME), keep={NAME}) == []
        assert _hidden(local) == [f".{NAME}.{b.writer}.part"]
        result = b.commit(b_job)
    assert result.attempts == 1  # not uploaded again: its file was still there
    assert os.listdir(local) == [NAME]
    assert (local / NAME).read_text() == "from b\n"


def _dead_pid() -> int:
    """The id of a process of this machine that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_gone_writers_are_removed_and_others_kept_until_old(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    """A writer killed on this machine: its file goes with the next clean-up. Another
    machine's file can't be told dead or alive: it stays until it is `ORPHAN_AFTER_SECONDS`
    old by the server's clock."""
    remote, local = sftp_server.folder("leftovers")
    killed = f".{NAME}.{HOST_ID}-{_dead_pid()}-0a0b0c0d.part"
    other_host = "0badc0de" if HOST_ID != "0badc0de" else "0badc0df"
    elsewhere_young = f".{NAME}.{other_host}-4242-0a0b0c0d.part"
    elsewhere_old = f".{NAME}.{other_host}-4343-0a0b0c0d.part"
    for name in (killed, elsewhere_young, elsewhere_old):
        (local / name).write_text("half")
    old = time.time() - ORPHAN_AFTER_SECONDS - 60
    os.utime(local / elsewhere_old, (old, old))
    with SftpUploader(sftp_server.config()) as uploader:
        uploader.upload(_small(tmp_path), f"{remote}/{NAME}")
        removed = uploader.remove_stale(remote, variants(NAME), keep={NAME})
    assert removed == sorted([killed, elsewhere_old])
    assert sorted(os.listdir(local)) == sorted([NAME, elsewhere_young])
