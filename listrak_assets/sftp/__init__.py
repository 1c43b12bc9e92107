"""Uploads to Listrak's SFTP server with paramiko: host-key check, atomic rename, retries, and
file sets published without a mix of old and new. No Dagster inside.

The package itself exports only what needs no paramiko (settings, results, errors): loading
the project's definitions, and a run that uploads nothing, never import the SSH stack. The
uploader (`sftp.uploader`), publishing (`sftp.publish`) and host keys (`sftp.hostkeys`) are
imported from their modules where a file is sent.
"""

from listrak_assets.sftp.config import SftpConfig, UploadResult
from listrak_assets.sftp.errors import (
    HostKeyError,
    SftpAuthError,
    SftpConfigError,
    SftpError,
    SftpUploadError,
)

__all__ = [
    "HostKeyError",
    "SftpAuthError",
    "SftpConfig",
    "SftpConfigError",
    "SftpError",
    "SftpUploadError",
    "UploadResult",
]
