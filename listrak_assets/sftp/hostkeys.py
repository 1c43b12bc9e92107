"""Host-key trust. Never auto-accept: the key must match what the user configured.

Two sources: a known_hosts file (OpenSSH's format, hashed names included) and a fingerprint
in the settings. A key is trusted when one of them vouches for it and none contradicts it;
otherwise the connection is closed before anything is sent, with the fingerprint seen and the
way to trust it in the message.
"""

from __future__ import annotations

from pathlib import Path

import paramiko

from listrak_assets.formats import check_fingerprint
from listrak_assets.sftp.errors import HostKeyError, SftpConfigError
from listrak_assets.ssh_hosts import fingerprint, host_id, listed_keys

__all__ = ["fingerprint", "host_id", "preferred_key_types", "verify_host_key"]

# Signature algorithms that an RSA host key (stored as ssh-rsa) can be negotiated with.
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


def _known_keys(known_hosts: Path | None, host: str, port: int) -> dict[str, paramiko.PKey]:
    if known_hosts is None:
        return {}
    if not known_hosts.is_file():
        raise SftpConfigError(
            f"the known_hosts file {known_hosts} (LISTRAK_SFTP_KNOWN_HOSTS) does not exist"
        )
    try:
        return listed_keys(known_hosts, host, port)
    except (OSError, paramiko.SSHException) as err:
        raise SftpConfigError(f"the known_hosts file {known_hosts} can't be read: {err}") from None


def preferred_key_types(known_hosts: Path | None, host: str, port: int) -> list[str]:
    """Host key algorithms to ask for first: those known_hosts already has a key of, so that a
    server with several keys presents the one we can check (as OpenSSH does)."""
    algorithms: list[str] = []
    for name in _known_keys(known_hosts, host, port):
        algorithms.extend(_RSA_ALGORITHMS if name == "ssh-rsa" else (name,))
    return algorithms


def _how_to_trust(host: str, port: int, seen: str) -> str:
    scan = f"ssh-keyscan -p {port} {host}" if port != 22 else f"ssh-keyscan {host}"
    return (
        "To trust this key, confirm its fingerprint with Listrak, then either set "
        f"`sftp.host_key_fingerprint: {seen}` in listrak.yaml, or add the key to the file named "
        f"by LISTRAK_SFTP_KNOWN_HOSTS (`{scan} >> FILE`, then compare `ssh-keygen -lf FILE`)."
    )


def verify_host_key(
    key: paramiko.PKey,
    host: str,
    port: int,
    *,
    known_hosts: Path | None,
    expected_fingerprint: str | None,
) -> None:
    """Return when `key` is trusted; raise HostKeyError saying why not and what to do."""
    seen = fingerprint(key)
    server = f"The SFTP server {host}:{port} presented the {key.get_name()} host key {seen}"
    changed = (
        "The key has changed: someone may be intercepting the connection, or the server's "
        "key was replaced. Nothing was sent."
    )
    if expected_fingerprint is not None and seen != check_fingerprint(expected_fingerprint):
        raise HostKeyError(
            f"{server}, but sftp.host_key_fingerprint is {expected_fingerprint}. {changed} "
            + _how_to_trust(host, port, seen)
        )
    known = _known_keys(known_hosts, host, port)
    if known:
        match = known.get(key.get_name())
        if match is None or match.asbytes() != key.asbytes():
            listed = ", ".join(f"{name} {fingerprint(k)}" for name, k in known.items())
            raise HostKeyError(
                f"{server}, but {known_hosts} lists {listed} for {host_id(host, port)}. "
                f"{changed} " + _how_to_trust(host, port, seen)
            )
        return
    if expected_fingerprint is not None:
        return
    reason = (
        f"{known_hosts} has no key for {host_id(host, port)}"
        if known_hosts is not None
        else "neither LISTRAK_SFTP_KNOWN_HOSTS nor sftp.host_key_fingerprint is set"
    )
    raise HostKeyError(
        f"{server}, which is not trusted: {reason}. Nothing was sent. "
        + _how_to_trust(host, port, seen)
    )
