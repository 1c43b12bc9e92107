"""The SFTP requests the upload's fast path sends itself, on paramiko's channel.

paramiko's `SFTPFile` writes 32 KiB requests, copies each buffer several times (its
`_write_all` re-slices the remaining bytes after every 32 KiB packet), and stops to drain
every reply once 100 are pending. Here a request is up to the server's own write limit
(OpenSSH: 255 KiB, via `limits@openssh.com`), read from disk straight into the buffer that
is sent (as SSH packets by `channel_writer`), with up to `max_requests` in flight and replies
read as they arrive. Replies are counted in file order, so after a dropped connection the
upload resumes from the last byte the server confirmed.

Used only while paramiko has no request of its own in flight on the channel.
"""

from __future__ import annotations

import io
import struct
from collections import deque
from dataclasses import dataclass

import paramiko

from listrak_assets.sftp.channel_writer import ChannelWriter, PlainWriter
from listrak_assets.sftp.errors import SftpUploadError

CMD_WRITE = 6
CMD_STATUS = 101
CMD_EXTENDED = 200
CMD_EXTENDED_REPLY = 201
STATUS_OK = 0

# SFTP servers must accept packets of 34000 bytes (draft-ietf-secsh-filexfer-02 s.3), so
# 32 KiB of data per request is safe anywhere; larger only when the server says so.
SAFE_WRITE_SIZE = 32 * 1024
# Our ceiling: larger requests bring nothing measurable over OpenSSH's 255 KiB limit.
MAX_WRITE_SIZE = 255 * 1024
_FIRST_ID = 0x40000000  # far from paramiko's own request numbers, which start at 1


class StatusError(Exception):
    """The server answered a request with an error status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"SFTP status {code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Progress:
    """Bytes sent, and the end of the prefix the server has confirmed written."""

    sent: int = 0
    confirmed: int = 0


class RawSftp:
    """Raw SFTP requests on an open paramiko SFTP channel."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self._chan = channel
        self._next_id = _FIRST_ID
        self.writer: ChannelWriter | PlainWriter = ChannelWriter.for_channel(channel)

    def _request_id(self) -> int:
        self._next_id = (self._next_id + 1) & 0x7FFFFFFF
        return self._next_id

    def _recv_exact(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = self._chan.recv(size)
            if not chunk:
                raise EOFError("the SFTP server closed the connection")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _read_reply(self) -> tuple[int, int, bytes]:
        """(packet type, request id, rest of the packet)."""
        (length,) = struct.unpack(">I", self._recv_exact(4))
        body = self._recv_exact(length)
        kind, request = struct.unpack_from(">BI", body)
        return kind, request, body[5:]

    @staticmethod
    def _check_status(kind: int, rest: bytes) -> None:
        if kind != CMD_STATUS:
            raise StatusError(-1, f"unexpected reply type {kind} to a write")
        (code,) = struct.unpack_from(">I", rest)
        if code != STATUS_OK:
            (size,) = struct.unpack_from(">I", rest, 4)
            raise StatusError(code, rest[8 : 8 + size].decode("utf-8", "replace"))

    def write_size_limit(self) -> int:
        """The largest write request the server accepts, from `limits@openssh.com`, or the
        size every server must accept when it doesn't say."""
        request = self._request_id()
        name = b"limits@openssh.com"
        body = struct.pack(">BII", CMD_EXTENDED, request, len(name)) + name
        self._chan.sendall(struct.pack(">I", len(body)) + body)
        kind, reply_to, rest = self._read_reply()
        if reply_to != request:
            raise StatusError(-1, f"reply to request {reply_to} while waiting for {request}")
        if kind != CMD_EXTENDED_REPLY:
            return SAFE_WRITE_SIZE  # unsupported extension: a status reply
        _, _, max_write, _ = struct.unpack_from(">QQQQ", rest)
        return max(SAFE_WRITE_SIZE, min(max_write, MAX_WRITE_SIZE)) if max_write else MAX_WRITE_SIZE

    def write(
        self,
        handle: bytes,
        source: io.RawIOBase,
        start: int,
        end: int,
        progress: Progress,
        *,
        write_size: int,
        max_requests: int,
    ) -> None:
        """Write bytes `start`..`end` of `source` (positioned at `start`) to the open remote
        `handle`. `progress.confirmed` moves forward as replies come back, also when this
        raises."""
        header = 4 + 1 + 4 + 4 + len(handle) + 8 + 4
        buffer = bytearray(header + write_size)
        view = memoryview(buffer)
        struct.pack_into(f">I{len(handle)}s", buffer, 9, len(handle), handle)
        pending: deque[tuple[int, int]] = deque()  # (request id, end offset), in file order
        done: set[int] = set()
        failures: list[StatusError] = []

        def settle() -> None:
            kind, request, rest = self._read_reply()
            try:
                self._check_status(kind, rest)
            except StatusError as err:
                failures.append(err)
                refused = next((p for p in pending if p[0] == request), None)
                if refused is not None:
                    pending.remove(refused)
                return
            done.add(request)
            while pending and pending[0][0] in done:
                finished, end_offset = pending.popleft()
                done.discard(finished)
                if not failures:
                    progress.confirmed = end_offset

        offset = start
        progress.confirmed = start
        while offset < end and not failures:
            size = source.readinto(view[header : header + min(write_size, end - offset)])
            if not size:
                raise SftpUploadError(
                    f"the local file ended at byte {offset} instead of {end}: it changed while "
                    "it was being uploaded"
                )
            request = self._request_id()
            struct.pack_into(">IBI", buffer, 0, header - 4 + size, CMD_WRITE, request)
            struct.pack_into(">QI", buffer, header - 12, offset, size)
            self.writer.sendall(view[: header + size])
            offset += size
            progress.sent += size
            pending.append((request, offset))
            while pending and (len(pending) >= max_requests or self._chan.recv_ready()):
                settle()
        # Every reply is read, even after a refusal, so that the channel stays in step.
        while pending:
            settle()
        if failures:
            raise failures[0]
