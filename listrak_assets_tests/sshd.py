"""A real OpenSSH `sshd` for the SFTP tests and the benchmark.

A child process on 127.0.0.1 and a free port, with its own config (`-f`, `-D`, `-e`), a new host
key, an authorized_keys file and the `internal-sftp` subsystem, all in a temporary folder; it
is always stopped and the folder removed.

As root (CI), it serves a throwaway account made for the occasion with `useradd` and given a
random password with `chpasswd`, so that password logins are tested against the real thing;
the account is deleted afterwards. As anyone else it serves the current user, keys only: sshd
can't check a password without root.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from listrak_assets.sftp.hostkeys import fingerprint, host_id

START_TIMEOUT = 15.0
PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it when root

# PerSourcePenalties (OpenSSH 9.8+) would lock 127.0.0.1 out after the failed logins and cut
# connections the tests make on purpose; older sshd doesn't know the option.
_PENALTIES = "PerSourcePenalties no\n"


def find_sshd() -> str | None:
    """The sshd binary (Debian keeps it in /usr/sbin, often not on a user's PATH)."""
    for candidate in ("/usr/sbin/sshd", shutil.which("sshd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass(frozen=True)
class UserKeys:
    """Two client keys: an Ed25519 key file without passphrase, and an ECDSA key (its text
    and file) encrypted with a passphrase."""

    plain: Path
    encrypted: Path
    passphrase: str = field(repr=False)
    public: tuple[paramiko.PKey, ...]

    @property
    def authorized_keys(self) -> str:
        return "".join(f"{k.get_name()} {k.get_base64()}\n" for k in self.public)


def _write_private(path: Path, key: object, passphrase: str | None = None) -> None:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    data = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
    )
    path.write_bytes(data)
    path.chmod(0o600)


def make_user_keys(folder: Path) -> UserKeys:
    plain, encrypted = folder / "id_ed25519", folder / "id_ecdsa"
    passphrase = secrets.token_urlsafe(12)
    _write_private(plain, ed25519.Ed25519PrivateKey.generate())
    _write_private(encrypted, ec.generate_private_key(ec.SECP256R1()), passphrase)
    public = (
        paramiko.Ed25519Key.from_private_key_file(str(plain)),
        paramiko.ECDSAKey.from_private_key_file(str(encrypted), password=passphrase),
    )
    return UserKeys(plain, encrypted, passphrase, public)


def new_host_key(path: Path) -> paramiko.PKey:
    _write_private(path, ed25519.Ed25519PrivateKey.generate())
    return paramiko.PKey.from_path(path)


@dataclass(frozen=True)
class Sshd:
    host: str
    port: int
    username: str
    password: str | None = field(repr=False)  # None unless run as root
    host_key_fingerprint: str
    known_hosts: Path
    root: Path  # a folder the account may write to
    uid: int
    gid: int
    log: Path


@contextlib.contextmanager
def _throwaway_account(home: Path) -> Iterator[tuple[str, str]]:
    """A login that exists only while the block runs."""
    name = f"lrsftp{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin"]
        + ["--comment", "listrak-assets SFTP test, deleted after the run", name],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            ["chpasswd"], input=f"{name}:{password}", text=True, check=True, capture_output=True
        )
        yield name, password
    finally:
        subprocess.run(["userdel", "--force", name], check=False, capture_output=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(folder: Path, port: int, user: str, host_key: Path, extra: str) -> str:
    return (
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile none\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication yes\nPubkeyAuthentication yes\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"AllowUsers {user}\nSubsystem sftp internal-sftp\nForceCommand internal-sftp\n"
        "DisableForwarding yes\nLogLevel VERBOSE\n" + extra
    )


def _wait_until_listening(process: subprocess.Popen[bytes], log: Path) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Server listening on" in text:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def run_sshd(keys: UserKeys) -> Iterator[Sshd]:
    """Start sshd and yield how to reach it; stop it and remove everything on exit."""
    sshd = find_sshd()
    if sshd is None:
        raise FileNotFoundError("OpenSSH sshd is not installed (apt-get install openssh-server)")
    as_root = os.geteuid() == 0
    with contextlib.ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="listrak-sshd-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        folder.chmod(0o755)  # the account must reach its folder and authorized_keys
        root = folder / "sftp"
        root.mkdir()
        if as_root:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
            user, password = stack.enter_context(_throwaway_account(root))
        else:
            user, password = getpass.getuser(), None
        account = pwd.getpwnam(user)
        os.chown(root, account.pw_uid, account.pw_gid)
        (folder / "authorized_keys").write_text(keys.authorized_keys)
        (folder / "authorized_keys").chmod(0o644)
        host_key = new_host_key(folder / "ssh_host_ed25519_key")
        extra = _PENALTIES
        probe = folder / "probe_config"
        probe.write_text(_config(folder, 22, user, folder / "ssh_host_ed25519_key", extra))
        if subprocess.run([sshd, "-t", "-f", str(probe)], capture_output=True).returncode:
            extra = ""
        log = folder / "sshd.log"
        for _ in range(3):  # another process may take the free port first
            port = _free_port()
            config = folder / "sshd_config"
            config.write_text(_config(folder, port, user, folder / "ssh_host_ed25519_key", extra))
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sshd, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
                )
            stack.callback(_stop, process)
            if _wait_until_listening(process, log):
                break
            if not re.search(r"Address already in use|Bind to port", log.read_text()):
                raise RuntimeError(f"sshd did not start:\n{log.read_text()[-3000:]}")
        else:
            raise RuntimeError(f"sshd found no free port:\n{log.read_text()[-3000:]}")
        known_hosts = folder / "known_hosts"
        known_hosts.write_text(
            f"{host_id('127.0.0.1', port)} {host_key.get_name()} {host_key.get_base64()}\n"
        )
        yield Sshd(
            host="127.0.0.1",
            port=port,
            username=user,
            password=password,
            host_key_fingerprint=fingerprint(host_key),
            known_hosts=known_hosts,
            root=root,
            uid=account.pw_uid,
            gid=account.pw_gid,
            log=log,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
