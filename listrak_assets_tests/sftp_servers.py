"""SFTP servers for the tests: a real OpenSSH sshd and the sandbox server, behind one face, so
every SFTP test runs against both; and a TCP relay that drops connections mid-upload.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from listrak_assets.defs.resources import ListrakSftp
from listrak_assets.sandbox.sftp_server import run_sandbox_sftp
from listrak_assets.sftp import SftpConfig
from listrak_assets_tests.sshd import UserKeys, find_sshd, make_user_keys, run_sshd

SERVERS = ["sshd", "sandbox"]


@dataclass(frozen=True)
class SftpServer:
    """A running server and an account on it, as the tests see it."""

    kind: str
    host: str
    port: int
    username: str
    password: str | None = field(repr=False)
    keys: UserKeys
    host_key_fingerprint: str
    known_hosts: Path
    root: Path  # on disk: the folder `remote_root` is on the server
    remote_root: str
    owner: tuple[int, int] | None  # who must own a new folder for the account to write in it

    def folder(self, name: str) -> tuple[str, Path]:
        """A new, empty folder the account may write to: (remote path, local path). The name
        gets a unique suffix: the servers live for the whole session."""
        local = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))
        if self.owner is not None:
            os.chown(local, *self.owner)
        return f"{self.remote_root.rstrip('/')}/{local.name}", local

    def url(self, remote: str) -> str:
        """The fsspec URL of a remote folder on this server (no password in it)."""
        return f"sftp://{self.username}@{self.host}:{self.port}{remote}"

    def fsspec_login(self) -> dict[str, str]:
        """How fsspec's SFTP filesystem logs in: what FSSPEC_SFTP_PASSWORD or
        FSSPEC_SFTP_KEY_FILENAME set in a deployment, never listrak.yaml."""
        if self.password:
            return {"password": self.password}
        return {"key_filename": str(self.keys.plain)}

    def config(self, **changes: object) -> SftpConfig:
        """Password login where there is one (else the plain key), known_hosts trust, and
        short waits between attempts."""
        base = SftpConfig(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            private_key=None if self.password else str(self.keys.plain),
            known_hosts=self.known_hosts,
            backoff=0.05,
            max_attempts=4,
            io_timeout=10,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    def resource(self, **changes: object) -> ListrakSftp:
        """The Dagster resource for this account, as `definitions.py` would build it."""
        fields: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "private_key": None if self.password else str(self.keys.plain),
            "known_hosts": str(self.known_hosts),
            "backoff_seconds": 0.05,
            "max_attempts": 4,
        }
        return ListrakSftp(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def user_keys(tmp_path_factory: pytest.TempPathFactory) -> UserKeys:
    return make_user_keys(tmp_path_factory.mktemp("client_keys"))


@pytest.fixture(scope="session")
def sshd_server(user_keys: UserKeys) -> Iterator[SftpServer]:
    if find_sshd() is None:
        message = "OpenSSH sshd is not installed (apt-get install openssh-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with run_sshd(user_keys) as sshd:
        yield SftpServer(
            kind="sshd",
            host=sshd.host,
            port=sshd.port,
            username=sshd.username,
            password=sshd.password,
            keys=user_keys,
            host_key_fingerprint=sshd.host_key_fingerprint,
            known_hosts=sshd.known_hosts,
            root=sshd.root,
            remote_root=str(sshd.root),
            owner=(sshd.uid, sshd.gid),
        )


@pytest.fixture(scope="session")
def sandbox_server(
    user_keys: UserKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SftpServer]:
    root = tmp_path_factory.mktemp("sandbox_sftp")
    with run_sandbox_sftp(root, authorized_keys=user_keys.public) as sandbox:
        yield SftpServer(
            kind="sandbox",
            host=sandbox.host,
            port=sandbox.port,
            username=sandbox.username,
            password=sandbox.password,
            keys=user_keys,
            host_key_fingerprint=sandbox.host_key_fingerprint,
            known_hosts=sandbox.known_hosts,
            root=sandbox.root,
            remote_root="/",
            owner=None,
        )


@pytest.fixture(params=SERVERS)
def sftp_server(request: pytest.FixtureRequest) -> SftpServer:
    """Each test using it runs once against OpenSSH's sshd and once against the sandbox."""
    return request.getfixturevalue(f"{request.param}_server")


class CuttingProxy:
    """A TCP relay on 127.0.0.1 that drops a connection after it has carried a number of bytes
    towards the server, as a failing network would.

    `cuts[i]` is the budget of the i-th connection (None: never cut); connections past the
    list are never cut. `on_cut` runs at the moment of the cut, before the sockets close. With
    `hold`, a cut connection stalls instead (open, carrying nothing more) until the relay
    closes: the client is stuck mid-transfer for as long as a test needs.
    """

    def __init__(
        self,
        target: tuple[str, int],
        cuts: list[int | None],
        on_cut: Callable[[], None] | None = None,
        *,
        hold: bool = False,
    ) -> None:
        self.target = target
        self.cuts = list(cuts)
        self.on_cut = on_cut
        self.hold = hold
        self.cut_event = threading.Event()
        self._closing = threading.Event()
        self.connections = 0
        self.cut = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._close(self._listener)  # shutdown wakes the thread blocked in accept()
        self._thread.join(timeout=5)
        with self._lock:
            for sock in self._sockets:
                self._close(sock)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            budget = self.cuts[self.connections] if self.connections < len(self.cuts) else None
            self.connections += 1
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            pair = (client, server)
            threading.Thread(target=self._pump, args=(client, server, budget, pair)).start()
            threading.Thread(target=self._pump, args=(server, client, None, pair)).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        budget: int | None,
        pair: tuple[socket.socket, socket.socket],
    ) -> None:
        carried = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if budget is not None and carried + len(data) >= budget:
                    sink.sendall(data[: budget - carried])
                    with self._lock:
                        self.cut += 1
                    if self.on_cut:
                        self.on_cut()
                    self.cut_event.set()
                    if self.hold:
                        self._closing.wait()
                    break
                sink.sendall(data)
                carried += len(data)
        except OSError:
            pass
        for sock in pair:
            self._close(sock)
