"""Typed SFTP errors whose messages say what to do. None of them ever carries a secret."""

from __future__ import annotations


class SftpError(Exception):
    """Anything that stops an upload to Listrak's SFTP server."""


class SftpConfigError(SftpError):
    """A missing or unusable setting (host, user, key): fixed by configuration, not by retrying."""


class HostKeyError(SftpError):
    """The server's host key is unknown or differs from the trusted one; nothing was sent."""


class SftpAuthError(SftpError):
    """The server refused the login."""


class SftpUploadError(SftpError):
    """An upload failed: the server refused a write or rename, or retries ran out."""
