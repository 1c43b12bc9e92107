"""Uploads to Listrak's SFTP server with paramiko: host-key check, atomic rename, retries.
No Dagster inside."""

from listrak_assets.sftp.errors import (
    HostKeyError,
    SftpAuthError,
    SftpConfigError,
    SftpError,
    SftpUploadError,
)
from listrak_assets.sftp.hostkeys import fingerprint
from listrak_assets.sftp.uploader import SftpConfig, SftpUploader, UploadResult

__all__ = [
    "HostKeyError",
    "SftpAuthError",
    "SftpConfig",
    "SftpConfigError",
    "SftpError",
    "SftpUploadError",
    "SftpUploader",
    "UploadResult",
    "fingerprint",
]
