"""Uploads to Listrak's SFTP server with paramiko: host-key check, atomic rename, retries, and
file sets published without a mix of old and new. No Dagster inside."""

from listrak_assets.sftp.errors import (
    HostKeyError,
    SftpAuthError,
    SftpConfigError,
    SftpError,
    SftpUploadError,
)
from listrak_assets.sftp.hostkeys import fingerprint
from listrak_assets.sftp.publish import Published, publish
from listrak_assets.sftp.uploader import SftpConfig, SftpUploader, UploadResult

__all__ = [
    "HostKeyError",
    "Published",
    "SftpAuthError",
    "SftpConfig",
    "SftpConfigError",
    "SftpError",
    "SftpUploadError",
    "SftpUploader",
    "UploadResult",
    "fingerprint",
    "publish",
]
