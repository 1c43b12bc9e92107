"""The upload's own SSH packet writer (`channel_writer`) against real servers: the bytes arrive
whole under AES-GCM, across key re-exchanges, and paramiko's own path takes over wherever the
fast path doesn't apply (another cipher, compression, paramiko internals not as expected).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from listrak_assets.sftp.channel_writer import ChannelWriter, PlainWriter
from listrak_assets.sftp.protocol import Progress, RawSftp
from listrak_assets_tests.sftp_servers import SftpServer

# Several write requests, several SSH windows (2 MiB at OpenSSH) and packets that don't
# divide it: the last batch and the last packet are short.
SIZE = 6 * 1024 * 1024 + 4321
GCM = "aes128-gcm@openssh.com"  # the uploader's first choice


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("writer") / "data.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _session(
    server: SftpServer, *, ciphers: tuple[str, ...] = (GCM,), compress: bool = False
) -> Iterator[tuple[paramiko.Transport, paramiko.SFTPClient]]:
    transport = paramiko.Transport((server.host, server.port))
    try:
        transport.get_security_options().ciphers = ciphers
        transport.use_compression(compress)
        key = paramiko.Ed25519Key.from_private_key_file(str(server.keys.plain))
        transport.connect(username=server.username, pkey=key)
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        yield transport, sftp
    finally:
        transport.close()


def _upload(
    sftp: paramiko.SFTPClient,
    raw: RawSftp,
    source: Path,
    remote: str,
    before_writing: Callable[[], object] = lambda: None,
) -> Progress:
    progress = Progress()
    write_size = raw.write_size_limit()
    handle = sftp.open(remote, "w")
    with source.open("rb", buffering=0) as data:
        before_writing()
        raw.write(
            handle.handle,  # type: ignore[arg-type]  # the stubs say SFTPHandle; it is bytes
            data,
            0,
            SIZE,
            progress,
            write_size=write_size,
            max_requests=64,
        )
    handle.close()
    return progress


def test_under_aes_gcm_the_fast_writer_sends_every_byte(
    sftp_server: SftpServer, data_file: Path
) -> None:
    remote, local = sftp_server.folder("gcm")
    with _session(sftp_server) as (transport, sftp):
        raw = RawSftp(sftp.get_channel())  # type: ignore[arg-type]
        assert transport.local_cipher == GCM
        assert isinstance(raw.writer, ChannelWriter)
        progress = _upload(sftp, raw, data_file, f"{remote}/data.bin")
        # The connection is still in step: paramiko's own requests work after the writer's.
        assert sftp.stat(f"{remote}/data.bin").st_size == SIZE
    assert (progress.sent, progress.confirmed) == (SIZE, SIZE)
    assert _digest(local / "data.bin") == _digest(data_file)


def test_key_re_exchanges_during_an_upload_lose_nothing(
    sftp_server: SftpServer, data_file: Path
) -> None:
    remote, local = sftp_server.folder("rekey")
    with _session(sftp_server) as (transport, sftp):
        raw = RawSftp(sftp.get_channel())  # type: ignore[arg-type]
        assert isinstance(raw.writer, ChannelWriter)
        # This connection re-keys after every MiB sent (paramiko's default is 512 MiB).
        transport.packetizer.REKEY_BYTES = 1 << 20
        first_keys = transport.packetizer._Packetizer__block_engine_out  # type: ignore[attr-defined]
        _upload(sftp, raw, data_file, f"{remote}/data.bin")
        last_keys = transport.packetizer._Packetizer__block_engine_out  # type: ignore[attr-defined]
        assert last_keys is not first_keys  # keys were re-exchanged
        assert raw.writer.fast and transport.is_active()
    assert _digest(local / "data.bin") == _digest(data_file)


def test_data_sent_while_keys_are_being_exchanged_waits_for_the_new_keys(
    sftp_server: SftpServer, data_file: Path
) -> None:
    remote, local = sftp_server.folder("kex")
    with _session(sftp_server) as (transport, sftp):
        raw = RawSftp(sftp.get_channel())  # type: ignore[arg-type]
        assert isinstance(raw.writer, ChannelWriter)
        ready = threading.Timer(0.5, transport.clear_to_send.set)

        def exchanging_keys() -> None:
            # The state paramiko's transport is in while it exchanges keys: user data waits.
            transport.clear_to_send.clear()
            ready.start()

        try:
            _upload(sftp, raw, data_file, f"{remote}/data.bin", exchanging_keys)
        finally:
            ready.join()
        # The first packets went through paramiko's path, which waited; the rest did not.
        assert 0 < raw.writer.handed_over < SIZE // (32 * 1024)
    assert _digest(local / "data.bin") == _digest(data_file)


def test_another_cipher_goes_through_paramikos_path(
    sftp_server: SftpServer, data_file: Path
) -> None:
    remote, local = sftp_server.folder("ctr")
    with _session(sftp_server, ciphers=("aes128-ctr",)) as (transport, sftp):
        raw = RawSftp(sftp.get_channel())  # type: ignore[arg-type]
        assert transport.local_cipher == "aes128-ctr"
        assert isinstance(raw.writer, PlainWriter)
        _upload(sftp, raw, data_file, f"{remote}/data.bin")
    assert _digest(local / "data.bin") == _digest(data_file)


def test_compression_goes_through_paramikos_path(sshd_server: SftpServer, data_file: Path) -> None:
    remote, local = sshd_server.folder("zlib")
    with _session(sshd_server, compress=True) as (transport, sftp):
        raw = RawSftp(sftp.get_channel())  # type: ignore[arg-type]
        assert transport.local_cipher == GCM
        assert transport.local_compression in ("zlib", "zlib@openssh.com")
        assert isinstance(raw.writer, PlainWriter)
        _upload(sftp, raw, data_file, f"{remote}/data.bin")
    assert _digest(local / "data.bin") == _digest(data_file)


def test_paramiko_internals_not_as_expected_fall_back_to_paramikos_path(
    sshd_server: SftpServer,
) -> None:
    with _session(sshd_server) as (transport, sftp):
        channel = sftp.get_channel()
        assert channel is not None
        assert isinstance(ChannelWriter.for_channel(channel), ChannelWriter)
        # As if a paramiko release had renamed a field the writer relies on.
        del transport.packetizer._Packetizer__sequence_number_out  # type: ignore[attr-defined]
        assert isinstance(ChannelWriter.for_channel(channel), PlainWriter)
