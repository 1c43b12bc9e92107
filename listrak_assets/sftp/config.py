"""What an upload needs and what it reports: plain data, without paramiko, so that code which
only configures or describes uploads (the Dagster resources, an unchanged run) never loads the
SSH stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SftpConfig:
    """Where and how to connect. Secrets are kept out of `repr`, so out of logs and errors."""

    host: str
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    # The key itself (PEM or OpenSSH text) or the path of a key file.
    private_key: str | None = field(default=None, repr=False)
    private_key_passphrase: str | None = field(default=None, repr=False)
    known_hosts: Path | None = None
    host_key_fingerprint: str | None = None
    connect_timeout: float = 20.0
    io_timeout: float = 60.0  # a connection silent this long counts as dropped
    max_attempts: int = 5
    backoff: float = 1.0  # first wait between attempts, doubled each time
    max_backoff: float = 30.0
    max_requests: int = 64  # write requests in flight (OpenSSH's sftp uses 64 too)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class UploadResult:
    remote_path: str
    size: int
    seconds: float
    attempts: int
    sent: int  # bytes sent, counting those sent again after a reconnection
    write_size: int  # bytes per write request, as agreed with the server
