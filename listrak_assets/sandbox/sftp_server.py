"""A local SFTP server standing in for Listrak's: paramiko's server side on 127.0.0.1, serving
one folder as `/`, so the file sinks run end to end without an account.

It checks what a real server checks: a password or an authorized public key, and a host key
of its own (a new Ed25519 key per start, written to a known_hosts file for the client).
Like OpenSSH's server, a plain rename refuses to replace a file and posix-rename replaces it.
Tests and the demo start it with `run_sandbox_sftp()`; on its own:

    python -m listrak_assets.sandbox.sftp_server                 # prints the variables to export
    python -m listrak_assets.sandbox.sftp_server -- COMMAND ...  # runs COMMAND against it
"""

from __future__ import annotations

import argparse
import hmac
import io
import os
import posixpath
import secrets
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from listrak_assets.sandbox.launcher import (
    add_command_arguments,
    already_configured,
    command_of,
    print_exports,
    run_with,
    wait_for_ctrl_c,
)
from listrak_assets.sftp.hostkeys import fingerprint, host_id

R = TypeVar("R")

DEFAULT_ROOT = Path("data/outbox/sftp")
DEFAULT_USERNAME = "listrak"


@dataclass(frozen=True)
class SandboxSftp:
    """Where the sandbox server listens and how to log in to it."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    host_key_fingerprint: str
    known_hosts: Path  # a known_hosts file holding the server's host key
    root: Path  # the folder served as `/`

    def env(self) -> dict[str, str]:
        """The environment variables that point the pipeline at this server."""
        return {
            "LISTRAK_SFTP_HOST": self.host,
            "LISTRAK_SFTP_PORT": str(self.port),
            "LISTRAK_SFTP_USERNAME": self.username,
            "LISTRAK_SFTP_PASSWORD": self.password,
            "LISTRAK_SFTP_KNOWN_HOSTS": str(self.known_hosts),
        }


def new_host_key() -> paramiko.PKey:
    """A fresh Ed25519 key (paramiko can use them but not make them)."""
    text = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return paramiko.Ed25519Key.from_private_key(io.StringIO(text))


class _Login(paramiko.ServerInterface):
    """One account: a password and any number of public keys."""

    def __init__(self, username: str, password: str, keys: list[bytes]) -> None:
        self._username = username.encode()
        self._password = password.encode()
        self._keys = keys

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = hmac.compare_digest(username.encode(), self._username) & hmac.compare_digest(
            password.encode(), self._password
        )
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = hmac.compare_digest(username.encode(), self._username) and key.asbytes() in self._keys
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def _answer(action: Callable[[], R]) -> R | int:
    """What `action` returns (SFTP_OK for None), or the SFTP status of the OSError it raised."""
    try:
        result = action()
    except OSError as err:
        return paramiko.SFTPServer.convert_errno(err.errno)
    return paramiko.SFTP_OK if result is None else result


class _Handle(paramiko.SFTPHandle):
    def stat(self) -> paramiko.SFTPAttributes | int:
        return _answer(lambda: paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno())))

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        return _answer(lambda: paramiko.SFTPServer.set_file_attr(self.filename, attr))


class _Folder(paramiko.SFTPServerInterface):
    """The served folder, seen as `/`; no path leads outside it."""

    def __init__(self, server: paramiko.ServerInterface, *, root: Path, posix_rename: bool) -> None:
        super().__init__(server)
        self._root = root.resolve()
        self._posix_rename = posix_rename

    def _local(self, path: str) -> Path:
        inside = posixpath.normpath("/" + path).lstrip("/")
        local = (self._root / inside).resolve()
        if not local.is_relative_to(self._root):
            raise PermissionError(13, "outside the served folder")
        return local

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        return _answer(
            lambda: [
                paramiko.SFTPAttributes.from_stat(entry.stat(follow_symlinks=False), entry.name)
                for entry in os.scandir(self._local(path))
            ]
        )

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        return _answer(lambda: paramiko.SFTPAttributes.from_stat(os.stat(self._local(path))))

    def lstat(self, path: str) -> paramiko.SFTPAttributes | int:
        return _answer(lambda: paramiko.SFTPAttributes.from_stat(os.lstat(self._local(path))))

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> _Handle | int:
        def opened() -> _Handle:
            local = self._local(path)
            mode = getattr(attr, "st_mode", None) or 0o644
            fd = os.open(local, flags, mode & 0o777)
            if flags & os.O_WRONLY:
                how = "ab" if flags & os.O_APPEND else "wb"
            elif flags & os.O_RDWR:
                how = "a+b" if flags & os.O_APPEND else "r+b"
            else:
                how = "rb"
            handle = _Handle(flags)
            handle.filename = str(local)
            handle.readfile = handle.writefile = os.fdopen(fd, how)
            return handle

        return _answer(opened)

    def remove(self, path: str) -> int:
        return _answer(lambda: os.remove(self._local(path)))

    def rename(self, oldpath: str, newpath: str) -> int:
        def renamed() -> int | None:
            target = self._local(newpath)
            if target.exists():
                return paramiko.SFTP_FAILURE  # SFTP v3: rename never replaces
            return os.rename(self._local(oldpath), target)

        return _answer(renamed)

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        if not self._posix_rename:
            return paramiko.SFTP_OP_UNSUPPORTED
        return _answer(lambda: os.replace(self._local(oldpath), self._local(newpath)))

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return _answer(lambda: os.mkdir(self._local(path)))

    def rmdir(self, path: str) -> int:
        return _answer(lambda: os.rmdir(self._local(path)))

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return _answer(lambda: paramiko.SFTPServer.set_file_attr(str(self._local(path)), attr))


class _Server:
    """Accepts connections on a thread; each one runs on its own paramiko transport."""

    def __init__(
        self,
        listener: socket.socket,
        host_key: paramiko.PKey,
        login: _Login,
        root: Path,
        posix_rename: bool,
    ) -> None:
        self._listener = listener
        self._host_key = host_key
        self._login = login
        self._root = root
        self._posix_rename = posix_rename
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="sandbox-sftp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: stop
            transport = paramiko.Transport(connection)
            transport.add_server_key(self._host_key)
            transport.set_subsystem_handler(
                "sftp",
                paramiko.SFTPServer,
                _Folder,
                root=self._root,
                posix_rename=self._posix_rename,
            )
            with self._lock:
                self._transports = [t for t in self._transports if t.is_active()]
                self._transports.append(transport)
            try:
                # With an event, the handshake runs on the transport's own thread.
                transport.start_server(event=threading.Event(), server=self._login)
            except (OSError, EOFError, paramiko.SSHException):
                transport.close()

    def stop(self) -> None:
        # Closing alone leaves the thread blocked in accept(); shutdown wakes it.
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            for transport in self._transports:
                transport.close()


@contextmanager
def run_sandbox_sftp(
    root: Path,
    *,
    port: int = 0,
    username: str = DEFAULT_USERNAME,
    password: str | None = None,
    authorized_keys: Iterable[paramiko.PKey] = (),
    posix_rename: bool = True,
) -> Iterator[SandboxSftp]:
    """Serve `root` (created if missing) on 127.0.0.1 (a free port unless `port` is given)
    until the block ends. Without `password`, a random one is made."""
    root.mkdir(parents=True, exist_ok=True)
    password = password or secrets.token_urlsafe(18)
    host_key = new_host_key()
    listener = socket.create_server(("127.0.0.1", port))
    listener.listen(16)
    host, bound = listener.getsockname()[:2]
    login = _Login(username, password, [k.asbytes() for k in authorized_keys])
    server = _Server(listener, host_key, login, root, posix_rename)
    with tempfile.TemporaryDirectory(prefix="listrak-sandbox-sftp-") as private:
        known_hosts = Path(private) / "known_hosts"
        known_hosts.write_text(
            f"{host_id(host, bound)} {host_key.get_name()} {host_key.get_base64()}\n"
        )
        server.start()
        try:
            yield SandboxSftp(
                host=host,
                port=bound,
                username=username,
                password=password,
                host_key_fingerprint=fingerprint(host_key),
                known_hosts=known_hosts,
                root=root.resolve(),
            )
        finally:
            server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted, or run a command against the server."""
    parser = argparse.ArgumentParser(
        prog="python -m listrak_assets.sandbox.sftp_server",
        description="A local SFTP server for trying the file sinks without a Listrak account.",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder served as /")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    add_command_arguments(parser, configured_by="LISTRAK_SFTP_HOST", stand_in="server")
    args = parser.parse_args(argv)
    command = command_of(args)
    if already_configured(args, "LISTRAK_SFTP_HOST"):
        return run_with(command, {})
    with run_sandbox_sftp(args.root, port=args.port, username=args.username) as server:
        where = f"SFTP sandbox at {server.host}:{server.port}, serving {server.root}"
        if command:
            print(where, file=sys.stderr, flush=True)
            return run_with(command, server.env())
        print(f"{where}; host key {server.host_key_fingerprint}. Point the pipeline at it with:\n")
        print_exports(server.env())
        wait_for_ctrl_c("\nCtrl-C stops it.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
