"""How SSH names and shows a server's host key, as OpenSSH does: the SHA256 fingerprint that
`ssh-keygen -lf` prints, and the name a known_hosts file gives a host and port. Shared by the
uploads to Listrak (`sftp/hostkeys.py`) and storage at an `sftp://` URL (`storage_trust.py`)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import paramiko


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` and `ssh` print it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def host_id(host: str, port: int) -> str:
    """How known_hosts names a server: `host`, or `[host]:port` off port 22."""
    return host if port == 22 else f"[{host}]:{port}"


def listed_keys(known_hosts: Path, host: str, port: int) -> dict[str, paramiko.PKey]:
    """The keys a known_hosts file (hashed names included) lists for `host:port`, by type.
    OSError or paramiko.SSHException when the file can't be read."""
    keys = paramiko.HostKeys(str(known_hosts)).lookup(host_id(host, port))
    return dict(keys) if keys else {}
