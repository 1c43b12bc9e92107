"""Uploads to Listrak's SFTP server: atomic, resumable after a dropped connection, and fast.

Atomic: a file is written as `.NAME.WRITER.part` in the same folder, its remote size checked,
then renamed over `NAME` (OpenSSH's posix-rename where the server has it), so Listrak's importer
never sees a partial file and a re-run of the same name replaces it. Writing (`stage`) and
renaming (`commit`) are separate steps, so that a set of files can be written first and put in
place together (`publish`). A server without posix-rename can't rename over a file: the old
file is renamed aside (`.NAME.aside`), the new one renamed in, and only then is the old one
removed (or renamed back, when the new one could not be put in place).

One writer, one temporary file: WRITER names this machine (a short hash of its name), the
process and a random part, so two writers of one file never write into or rename each other's
temporary file. What a killed writer leaves is hidden (Listrak imports by name) and is removed
by the next publication: at once when its process is known to be gone (same machine), after
`ORPHAN_AFTER_SECONDS` otherwise; a live writer's file is left alone.

Resilient: a dropped connection reconnects (host key checked again) and the upload resumes from
the last byte the server confirmed, with a bounded, doubling wait between attempts. A refusal by
the server (permissions, disk full) and a bad host key or login are not retried.

Fast: AES-GCM first (no separate MAC pass), write requests as large as the server accepts, many
in flight, each read from disk straight into the buffer that is sent (see `protocol`), and
sent as SSH packets encrypted straight into one buffer per batch (see `channel_writer`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import posixpath
import re
import secrets
import socket
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from listrak_assets.processes import alive
from listrak_assets.sftp.config import SftpConfig, UploadResult
from listrak_assets.sftp.errors import SftpAuthError, SftpConfigError, SftpError, SftpUploadError
from listrak_assets.sftp.hostkeys import preferred_key_types, verify_host_key
from listrak_assets.sftp.protocol import Progress, RawSftp, StatusError

T = TypeVar("T")
_log = logging.getLogger(__name__)

# AES-GCM is an AEAD cipher: encryption and integrity in one pass through OpenSSL, where the
# CTR modes need a separate HMAC. The rest of paramiko's list follows, for older servers.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
KEEPALIVE_SECONDS = 30
# `.NAME.part` and `.NAME.aside`, or `.NAME.WRITER.part` (WRITER: host hash-pid-random).
_TEMP = re.compile(
    r"\.(?P<name>.+?)\.(?:(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]+\.)?(?:part|aside)"
)
# This machine, as temporary names carry it: a hash, so the server never learns the name.
HOST_ID = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
# Another machine's temporary file untouched this long (by the server's clock) is a leftover;
# a live writer writes to its file, or renames it into place, well within this.
ORPHAN_AFTER_SECONDS = 6 * 3600.0

# Errors of the connection rather than of the request: worth reconnecting for.
_TRANSIENT = (OSError, EOFError, paramiko.SSHException)


def new_writer() -> str:
    """A name for one writer, unique among all writers of a folder: host, process, random."""
    return f"{HOST_ID}-{os.getpid()}-{secrets.token_hex(4)}"


def temp_path(remote_path: str, writer: str) -> str:
    """The hidden name `writer` writes a file under before renaming it into place."""
    folder, name = posixpath.split(remote_path)
    return posixpath.join(folder, f".{name}.{writer}.part")


def aside_path(remote_path: str) -> str:
    """The hidden name a file is moved to while its replacement is renamed in, on a server
    without posix-rename."""
    folder, name = posixpath.split(remote_path)
    return posixpath.join(folder, f".{name}.aside")


def temp_target(name: str) -> str | None:
    """The final name a temporary (or aside) file name stands for, or None."""
    match = _TEMP.fullmatch(name)
    return match["name"] if match else None


def is_leftover(name: str, age: float) -> bool:
    """Whether a temporary (or aside) file `age` seconds old is no live writer's: its process
    is gone from this machine, it is old, or its name carries no writer (aside files, and
    the temporary names of earlier releases)."""
    match = _TEMP.fullmatch(name)
    if match is None:
        return False
    if match["host"] is None or age > ORPHAN_AFTER_SECONDS:
        return True
    return match["host"] == HOST_ID and not alive(int(match["pid"]))


def load_private_key(value: str, passphrase: str | None) -> paramiko.PKey:
    """An RSA, ECDSA or Ed25519 key from its text or from the file it names."""
    if "PRIVATE KEY-----" in value:
        data, source = value.strip().encode() + b"\n", "LISTRAK_SFTP_PRIVATE_KEY"
    else:
        path = Path(value).expanduser()
        try:
            data, source = path.read_bytes(), str(path)
        except OSError as err:
            raise SftpConfigError(
                f"the private key file {path} can't be read ({err.strerror}); "
                "LISTRAK_SFTP_PRIVATE_KEY holds a key or the path of one"
            ) from None
    secret = passphrase.encode() if passphrase else None
    try:
        try:
            loaded: object = serialization.load_ssh_private_key(data, secret)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, secret)
    except TypeError:
        hint = "is not encrypted: unset" if passphrase else "is encrypted: set"
        raise SftpConfigError(
            f"the private key in {source} {hint} LISTRAK_SFTP_PRIVATE_KEY_PASSPHRASE"
        ) from None
    except ValueError:
        raise SftpConfigError(
            f"the private key in {source} can't be read: not an RSA, ECDSA or Ed25519 key in "
            "PEM or OpenSSH format, or a wrong LISTRAK_SFTP_PRIVATE_KEY_PASSPHRASE"
        ) from None
    key_classes: list[tuple[type, type[paramiko.PKey]]] = [
        (rsa.RSAPrivateKey, paramiko.RSAKey),
        (ed25519.Ed25519PrivateKey, paramiko.Ed25519Key),
        (ec.EllipticCurvePrivateKey, paramiko.ECDSAKey),
    ]
    for crypto_type, key_class in key_classes:
        if isinstance(loaded, crypto_type):
            return key_class.from_private_key(io.StringIO(data.decode()), password=passphrase)
    raise SftpConfigError(f"the private key in {source} is of a type SSH can't use here")


def _prefer(available: Sequence[str], first: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    head = [name for name in first if name in available]
    return (*head, *(name for name in available if name not in head))


@dataclass
class _Session:
    transport: paramiko.Transport
    sftp: paramiko.SFTPClient
    raw: RawSftp
    write_size: int

    @property
    def alive(self) -> bool:
        channel = self.sftp.get_channel()
        return self.transport.is_active() and channel is not None and not channel.closed

    def close(self) -> None:
        self.transport.close()


@dataclass
class Staged:
    """A file written under its temporary name, waiting to be renamed into place (`commit`)."""

    local: Path
    remote_path: str
    size: int
    progress: Progress = field(default_factory=Progress)
    phase: Literal["write", "staged", "done"] = "write"
    rename_sent: bool = False
    write_size: int = 0
    attempts: int = 1  # connections used: 1, plus one per reconnection
    seconds: float = 0.0


class SftpUploader:
    """One connection to the server, opened on first use and again after a drop."""

    def __init__(self, config: SftpConfig, *, log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._log = log or _log.warning
        self.writer = new_writer()  # names this uploader's temporary files
        self._current: _Session | None = None
        # Whether the server has OpenSSH's posix-rename: unknown until first tried.
        self._posix_rename: bool | None = None

    def __enter__(self) -> SftpUploader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def cipher(self) -> str | None:
        """The cipher of the current connection (AES-GCM unless the server has none)."""
        return self._current.transport.local_cipher if self._current else None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    # -- connection ------------------------------------------------------------------------

    def _connect(self) -> _Session:
        c = self.config
        try:
            sock = socket.create_connection((c.host, c.port), timeout=c.connect_timeout)
        except socket.gaierror as err:
            raise SftpConfigError(
                f"the SFTP host '{c.host}' can't be resolved ({err}): check LISTRAK_SFTP_HOST"
            ) from None
        transport = paramiko.Transport(sock)
        try:
            options = transport.get_security_options()
            options.ciphers = _prefer(options.ciphers, PREFERRED_CIPHERS)
            known = preferred_key_types(c.known_hosts, c.host, c.port)
            if known:
                options.key_types = _prefer(options.key_types, known)
            try:
                transport.start_client(timeout=c.connect_timeout)
            except paramiko.ssh_exception.IncompatiblePeer as err:
                raise SftpError(
                    f"the SFTP server {c.server} and this client share no SSH algorithm: {err}"
                ) from None
            verify_host_key(
                transport.get_remote_server_key(),
                c.host,
                c.port,
                known_hosts=c.known_hosts,
                expected_fingerprint=c.host_key_fingerprint,
            )
            self._authenticate(transport)
            sftp = paramiko.SFTPClient.from_transport(transport)
            channel = sftp.get_channel() if sftp is not None else None
            if sftp is None or channel is None:
                raise SftpError(f"the server {c.server} refused to start SFTP for this account")
            channel.settimeout(c.io_timeout)
            raw = RawSftp(channel)
            write_size = raw.write_size_limit()
        except BaseException:
            transport.close()
            raise
        transport.set_keepalive(KEEPALIVE_SECONDS)
        return _Session(transport, sftp, raw, write_size)

    def _authenticate(self, transport: paramiko.Transport) -> None:
        c = self.config
        if not c.password and not c.private_key:
            raise SftpConfigError(
                "no SFTP password or private key: set LISTRAK_SFTP_PASSWORD or "
                "LISTRAK_SFTP_PRIVATE_KEY"
            )
        key = load_private_key(c.private_key, c.private_key_passphrase) if c.private_key else None
        tried = []
        try:
            if key is not None:
                tried.append("LISTRAK_SFTP_PRIVATE_KEY")
                try:
                    transport.auth_publickey(c.username, key)
                except paramiko.AuthenticationException:
                    if not c.password:
                        raise
            if not transport.is_authenticated() and c.password:
                tried.append("LISTRAK_SFTP_PASSWORD")
                transport.auth_password(c.username, c.password)
        except paramiko.BadAuthenticationType as err:
            raise SftpAuthError(
                f"the SFTP server {c.server} does not accept {' or '.join(tried)} for "
                f"'{c.username}'; it accepts: {', '.join(err.allowed_types)}"
            ) from None
        except paramiko.AuthenticationException:
            pass
        if not transport.is_authenticated():
            raise SftpAuthError(
                f"the SFTP server {c.server} refused the login of '{c.username}': check "
                f"LISTRAK_SFTP_USERNAME and {' / '.join(tried)}, and that this machine's IP "
                "address is allowed by the Listrak FTP integration"
            )

    def _session(self) -> _Session:
        if self._current is None or not self._current.alive:
            self.close()
            self._current = self._connect()
        return self._current

    def connect(self) -> None:
        """Connect now (checking the host key and the login) rather than on first use."""
        self._retrying("connecting", lambda session: None)

    def _refused(self, error: BaseException) -> bool:
        """True when the server answered a request with an error, on a live connection."""
        if isinstance(error, StatusError):
            return True
        return (
            isinstance(error, OSError)
            and not isinstance(error, (TimeoutError, ConnectionError))
            and self._current is not None
            and self._current.alive
        )

    def _retrying(self, what: str, step: Callable[[_Session], T]) -> T:
        """Run `step` on a live session; after a dropped connection, reconnect and run it again,
        at most `max_attempts` times in all."""
        c = self.config
        attempt = 0
        while True:
            attempt += 1
            try:
                return step(self._session())
            except SftpError:
                raise
            except (*_TRANSIENT, StatusError) as err:
                if self._refused(err):
                    raise SftpUploadError(
                        f"{what} on {c.server}: the server refused it ({err}); check that the "
                        "account may write to sftp.remote_folder and the server has room"
                    ) from None
                self.close()
                if attempt >= c.max_attempts:
                    raise SftpUploadError(
                        f"{what} on {c.server} failed after {attempt} attempts, the last with "
                        f"{type(err).__name__}: {err or 'no message'}. Check the network and "
                        "the server, then run again."
                    ) from None
                wait = min(c.backoff * 2 ** (attempt - 1), c.max_backoff)
                self._log(
                    f"{what} on {c.server}: connection lost ({type(err).__name__}: {err}); "
                    f"reconnecting in {wait:.1f} s (attempt {attempt + 1} of {c.max_attempts})"
                )
                time.sleep(wait)

    # -- remote files ----------------------------------------------------------------------

    def check_folder(self, folder: str) -> None:
        """Fail early, with the fix, when the remote folder is missing."""

        def step(session: _Session) -> None:
            try:
                mode = session.sftp.stat(folder).st_mode or 0
            except FileNotFoundError:
                mode = None
            if mode is None or not stat.S_ISDIR(mode):
                raise SftpConfigError(
                    f"the remote folder {folder} does not exist on {self.config.server}: "
                    "create it or change sftp.remote_folder"
                )

        self._retrying(f"checking {folder}", step)

    def _replace(self, session: _Session, temp: str, final: str) -> None:
        """Rename `temp` over `final`: one atomic step with posix-rename. Without it (SFTP v3's
        rename never replaces a file), the old file is renamed aside, the new one renamed in,
        then the old one removed: a reader briefly finds no file, never a partial one, and the
        old file is never deleted before the new one is in place."""
        if self._posix_rename is not False:
            try:
                session.sftp.posix_rename(temp, final)
                self._posix_rename = True
                return
            except OSError:
                if self._posix_rename or not session.alive:
                    raise
                self._posix_rename = False
        aside = aside_path(final)
        if not self._exists(session, final):
            session.sftp.rename(temp, final)
            self._drop(session, aside)  # when a lost connection came between the two renames
            return
        self._drop(session, aside)  # left by an earlier failure
        session.sftp.rename(final, aside)
        try:
            session.sftp.rename(temp, final)
        except OSError:
            if session.alive:  # put the old file back rather than leave no file
                with contextlib.suppress(OSError):
                    session.sftp.rename(aside, final)
            raise
        session.sftp.remove(aside)

    def _drop(self, session: _Session, path: str) -> None:
        """Remove `path` if it exists."""
        with contextlib.suppress(FileNotFoundError):
            session.sftp.remove(path)

    @staticmethod
    def _size(session: _Session, path: str) -> int | None:
        try:
            return session.sftp.stat(path).st_size
        except FileNotFoundError:
            return None

    @staticmethod
    def _exists(session: _Session, path: str) -> bool:
        try:
            session.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def _temp(self, remote_path: str) -> str:
        return temp_path(remote_path, self.writer)

    def _write(self, session: _Session, job: Staged) -> None:
        temp = self._temp(job.remote_path)
        progress = job.progress
        if progress.confirmed:
            try:
                if (session.sftp.stat(temp).st_size or 0) < progress.confirmed:
                    progress.confirmed = 0
            except FileNotFoundError:
                progress.confirmed = 0
        start = progress.confirmed
        remote = session.sftp.open(temp, "r+" if start else "w")
        try:
            with job.local.open("rb", buffering=0) as source:
                source.seek(start)
                session.raw.write(
                    remote.handle,  # type: ignore[arg-type]  # the stubs say SFTPHandle; it is bytes
                    source,
                    start,
                    job.size,
                    progress,
                    write_size=session.write_size,
                    max_requests=self.config.max_requests,
                )
        except BaseException:
            if session.alive:
                with contextlib.suppress(*_TRANSIENT):
                    remote.close()
            raise
        remote.close()
        job.write_size = session.write_size

    def _check_temp(self, session: _Session, job: Staged) -> bool:
        """Whether the temporary file is there with every byte. False when a rename whose reply
        was lost with the connection already put it in place; when it vanished otherwise, the
        upload starts again."""
        temp = self._temp(job.remote_path)
        remote_size = self._size(session, temp)
        if remote_size is None:
            if job.rename_sent and self._size(session, job.remote_path) == job.size:
                if self._posix_rename is False:
                    self._drop(session, aside_path(job.remote_path))
                return False
            job.phase, job.progress.confirmed = "write", 0
            raise EOFError(f"{temp} disappeared before it was renamed")
        if remote_size != job.size:
            raise SftpUploadError(
                f"{temp} has {remote_size} bytes on {self.config.server} after the upload, "
                f"expected {job.size}; it was not renamed to {job.remote_path}"
            )
        return True

    def _discard(self, remote_path: str) -> None:
        """Best effort: remove what a failed upload left under its temporary name."""
        try:
            if self._current is not None and self._current.alive:
                self._current.sftp.remove(self._temp(remote_path))
        except (OSError, EOFError, paramiko.SSHException):
            pass

    def _run(self, job: Staged, what: str, last_phase: Literal["staged", "done"]) -> None:
        """Take `job` through its phases up to `last_phase`, reconnecting as needed."""
        started = time.perf_counter()
        tries = 0

        def step(session: _Session) -> None:
            nonlocal tries
            tries += 1
            if tries > 1:  # a reconnection
                job.attempts += 1
            if job.phase == "write":
                self._write(session, job)
                job.phase = "staged"
            if self._check_temp(session, job) and last_phase == "done":
                job.rename_sent = True
                self._replace(session, self._temp(job.remote_path), job.remote_path)
            job.phase = last_phase

        try:
            self._retrying(f"{what} {job.remote_path}", step)
        except SftpError:
            self._discard(job.remote_path)
            raise
        finally:
            job.seconds += time.perf_counter() - started

    def stage(self, local: Path, remote_path: str) -> Staged:
        """Upload `local` under the temporary name of `remote_path` and check its size; nothing
        changes under the final name until `commit`."""
        job = Staged(local, remote_path, local.stat().st_size)
        self._run(job, "uploading", "staged")
        return job

    def commit(self, job: Staged) -> UploadResult:
        """Rename a staged file into place, replacing a file of that name (uploading it again
        first if its temporary file is gone)."""
        if job.phase != "done":
            self._run(job, "renaming", "done")
        return UploadResult(
            remote_path=job.remote_path,
            size=job.size,
            seconds=job.seconds,
            attempts=job.attempts,
            sent=job.progress.sent,
            write_size=job.write_size,
        )

    def upload(self, local: Path, remote_path: str) -> UploadResult:
        """Upload `local` to `remote_path` atomically, replacing a file of that name."""
        return self.commit(self.stage(local, remote_path))

    def put_marker(self, remote_path: str) -> None:
        """An empty file (a `.DONE` marker), created atomically like any upload."""

        def step(session: _Session) -> None:
            temp = self._temp(remote_path)
            session.sftp.open(temp, "w").close()
            self._replace(session, temp, remote_path)

        self._retrying(f"writing {remote_path}", step)

    def listdir(self, folder: str) -> list[str]:
        """The names in `folder`, sorted."""
        return self._retrying(
            f"listing {folder}", lambda session: sorted(session.sftp.listdir(folder))
        )

    def remove(self, remote_path: str) -> None:
        """Remove a file; one already gone is fine (a retry after a lost reply)."""
        self._retrying(f"removing {remote_path}", lambda session: self._drop(session, remote_path))

    def remove_stale(self, folder: str, pattern: re.Pattern[str], keep: set[str]) -> list[str]:
        """Remove files of `folder` whose names match `pattern` and are not in `keep`, and
        the leftover temporary files of such names (`is_leftover`; a live writer's stay); the
        names removed."""

        def step(session: _Session) -> list[str]:
            entries = sorted(session.sftp.listdir_attr(folder), key=lambda e: e.filename)
            # The server's clock, read off the newest file (ours, just written).
            now = max((e.st_mtime or 0 for e in entries), default=0)
            removed = []
            for entry in entries:
                name, target = entry.filename, temp_target(entry.filename)
                if name in keep or not pattern.fullmatch(target or name):
                    continue
                if target is not None and not is_leftover(name, now - (entry.st_mtime or 0)):
                    continue
                self._drop(session, posixpath.join(folder, name))
                removed.append(name)
            return removed

        return self._retrying(f"cleaning {folder}", step)
