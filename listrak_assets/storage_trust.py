"""Host-key trust for a storage URL over SSH (`sftp://`: warehouse, erasure ledger, archive).

fsspec's SFTP filesystem accepts any host key unless told otherwise (paramiko's
`AutoAddPolicy`): a machine in the middle would receive the login and every table, personal
data included. The filesystem gets this policy instead. Its paramiko client loads no keys of
its own, so paramiko asks the policy about every server, and the policy accepts only the key
that a known_hosts file (OpenSSH's format, hashed names included) lists for that host and port,
as the uploads to Listrak do; otherwise the connection is closed before anything is sent,
with the fingerprint seen and how to trust it in the message.

The file: the one named by LISTRAK_STORAGE_KNOWN_HOSTS, else OpenSSH's `~/.ssh/known_hosts`.
It is read at each connection, so a key added later is trusted without a restart.
"""

from __future__ import annotations

import os
from pathlib import Path

import paramiko

from listrak_assets.ssh_hosts import fingerprint, host_id, listed_keys

KNOWN_HOSTS_ENV = "LISTRAK_STORAGE_KNOWN_HOSTS"


def known_hosts_file() -> Path | None:
    """The known_hosts file that vouches for storage servers, if there is one."""
    named = os.environ.get(KNOWN_HOSTS_ENV)
    if named:
        return Path(named).expanduser()
    default = Path.home() / ".ssh" / "known_hosts"
    return default if default.is_file() else None


class UntrustedHost(paramiko.SSHException):
    """The storage server's host key is not the one known_hosts lists for it."""


def check_host_key(key: paramiko.PKey, host: str, port: int, known_hosts: Path | None) -> None:
    """Return when `known_hosts` lists `key` for `host:port`; UntrustedHost saying what it saw,
    why it is refused and how to trust it otherwise."""
    seen = fingerprint(key)
    name = host_id(host, port)
    try:
        listed = listed_keys(known_hosts, host, port) if known_hosts is not None else {}
    except (OSError, paramiko.SSHException) as err:
        listed, unread = {}, f"{known_hosts} can't be read ({err})"
    else:
        unread = ""
    match = listed.get(key.get_name())
    if match is not None and match.asbytes() == key.asbytes():
        return
    if listed:
        others = ", ".join(f"{kind} {fingerprint(k)}" for kind, k in listed.items())
        why = (
            f"{known_hosts} lists {others} for {name}. The key has changed: someone may be "
            "intercepting the connection, or the server's key was replaced"
        )
    elif unread:
        why = unread
    elif known_hosts is not None:
        why = f"{known_hosts} has no key for {name}"
    else:
        why = f"{KNOWN_HOSTS_ENV} is not set and there is no ~/.ssh/known_hosts"
    scan = f"ssh-keyscan -p {port} {host}" if port != 22 else f"ssh-keyscan {host}"
    raise UntrustedHost(
        f"The storage server {host}:{port} presented the {key.get_name()} host key {seen}, "
        f"which is not trusted: {why}. Nothing was sent. To trust it, confirm the fingerprint "
        f"with the server's owner, then add the key to the file named by {KNOWN_HOSTS_ENV} "
        f"(else ~/.ssh/known_hosts): `{scan} >> FILE`, then compare `ssh-keygen -lf FILE`."
    )


class KnownHostsOnly(paramiko.MissingHostKeyPolicy):
    """Accept a server's key only when the known_hosts file lists it for `host:port`."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        try:
            check_host_key(key, self.host, self.port, known_hosts_file())
        except UntrustedHost:
            client.close()  # before the login: the server got nothing
            raise

    # fsspec caches a filesystem per repr of its options (one connection per server), and
    # two paths on the same server compare equal through their options.
    def __repr__(self) -> str:
        return f"KnownHostsOnly({self.host!r}, {self.port})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KnownHostsOnly) and (other.host, other.port) == (
            self.host,
            self.port,
        )

    def __hash__(self) -> int:
        return hash((self.host, self.port))
