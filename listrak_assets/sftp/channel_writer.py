"""Channel data sent as whole SSH packets, encrypted straight into one buffer per batch.

paramiko sends channel data one packet at a time, in Python: a `Message` per packet, then
the payload copied into it, out of it, into the padded packet, out of that for the cipher,
and the ciphertext joined to the length again, before one `send` per packet. On the upload
path that is most of the client's CPU (about 32 KiB per packet, with OpenSSH's packet limit).
Here, under AES-GCM, the packets of a batch (up to `BATCH_BYTES` of data, within the send
window) are laid out and encrypted with `encrypt_into` into one buffer, sent with one
`send` loop: the payload is copied once into the plaintext and encrypted once into the
buffer that is sent.

This reaches into paramiko's `Packetizer` (cipher, nonce, sequence number, rekey counters)
and `Channel` (send window) internals, which are private: `ChannelWriter.for_channel` checks
that they are there and as expected (the versions in pyproject's paramiko range), and
otherwise, and for any other cipher, compression or packet dumping, returns a writer that
uses paramiko's own `Channel.sendall`. The same paramiko locks are taken in the same order as
`Channel.send`, so rekeying, keepalives and other channels behave as with paramiko's path: a
batch is sent only while the transport is clear to send; during a key exchange it goes
through paramiko's path, which waits for it.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any, Protocol

import paramiko
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MSG_CHANNEL_DATA = 94
# Data per batch: a few packets per `send`, fewer system calls; OpenSSH's sftp client sends
# 255 KiB write requests, so one request is one batch.
BATCH_BYTES = 256 * 1024
# paramiko keeps its channel data 64 bytes under the peer's maximum packet size; so do we.
PACKET_MARGIN = 64
_AEAD_BLOCK = 16
_TAG = 16
_HEADER = struct.Struct(">BBII")  # padding length, message type, channel, data length
_LENGTH = struct.Struct(">I")

# What `for_channel` needs of paramiko's private state (name-mangled attributes included).
_PACKETIZER_FIELDS = (
    "_Packetizer__write_lock",
    "_Packetizer__block_engine_out",
    "_Packetizer__aead_out",
    "_Packetizer__etm_out",
    "_Packetizer__iv_out",
    "_Packetizer__block_size_out",
    "_Packetizer__sequence_number_out",
    "_Packetizer__sent_bytes",
    "_Packetizer__sent_packets",
    "_Packetizer__need_rekey",
    "_Packetizer__compress_engine_out",
    "_Packetizer__dump_packets",
    "_Packetizer__socket",
    "_Packetizer__keepalive_last",
    "_trigger_rekey",
    "closed",
    "REKEY_PACKETS",
    "REKEY_BYTES",
)
_TRANSPORT_FIELDS = (
    "packetizer",
    "clear_to_send",
    "clear_to_send_lock",
    "active",
    "_send_user_message",
)
_CHANNEL_FIELDS = (
    "lock",
    "closed",
    "eof_sent",
    "remote_chanid",
    "out_window_size",
    "out_max_packet_size",
    "_wait_for_send_window",
)


class Sender(Protocol):
    def sendall(self, data: memoryview) -> None: ...


class PlainWriter:
    """paramiko's own path, for what the fast path doesn't handle."""

    fast = False

    def __init__(self, channel: paramiko.Channel) -> None:
        self._chan = channel

    def sendall(self, data: memoryview) -> None:
        self._chan.sendall(data)  # type: ignore[arg-type]  # any buffer


def _has(obj: object, names: tuple[str, ...]) -> bool:
    return all(hasattr(obj, name) for name in names)


class ChannelWriter:
    """Sends data on one channel as batches of AES-GCM packets (see the module's docstring)."""

    fast = True

    def __init__(self, channel: paramiko.Channel) -> None:
        self._chan: Any = channel
        self._transport: Any = channel.get_transport()
        self._packetizer: Any = self._transport.packetizer
        self._plain = PlainWriter(channel)
        self._packet_data = max(1, channel.out_max_packet_size - PACKET_MARGIN)
        self._text = bytearray(_HEADER.size + self._packet_data + 2 * _AEAD_BLOCK)
        self._out = bytearray(0)
        self.handed_over = 0  # packets sent through paramiko's path (during key exchanges)

    @classmethod
    def for_channel(cls, channel: paramiko.Channel) -> ChannelWriter | PlainWriter:
        """The fast writer when paramiko's internals are as expected, else paramiko's path."""
        transport = channel.get_transport()
        packetizer = getattr(transport, "packetizer", None)
        if not (
            _has(channel, _CHANNEL_FIELDS)
            and _has(transport, _TRANSPORT_FIELDS)
            and _has(packetizer, _PACKETIZER_FIELDS)
        ):
            return PlainWriter(channel)
        writer = cls(channel)
        return writer if writer._usable() else PlainWriter(channel)

    def _usable(self) -> bool:
        """Whether the transport's outbound cipher state is one this path handles now."""
        p = self._packetizer
        iv = p._Packetizer__iv_out
        return (
            isinstance(p._Packetizer__block_engine_out, AESGCM)
            and hasattr(p._Packetizer__block_engine_out, "encrypt_into")  # cryptography >= 44
            and p._Packetizer__aead_out is True
            and not p._Packetizer__etm_out
            and p._Packetizer__compress_engine_out is None
            and not p._Packetizer__dump_packets
            and p._Packetizer__block_size_out == _AEAD_BLOCK
            and isinstance(iv, bytes)
            and len(iv) == 12
        )

    def _reserve(self, size: int) -> list[int]:
        """Sizes of the packets the send window allows now, up to `size` bytes in all; waits
        (as paramiko does, up to the channel's timeout) only for the first."""
        chan = self._chan
        sizes: list[int] = []
        with chan.lock:
            if chan.closed:
                raise EOFError("the SSH channel is closed")
            while size > 0 and (not sizes or chan.out_window_size > 0):
                got = chan._wait_for_send_window(min(size, self._packet_data))
                if not got:
                    if sizes:
                        break
                    raise EOFError("the SSH channel is closed")
                sizes.append(got)
                size -= got
        return sizes

    def sendall(self, data: memoryview) -> None:
        """Send all of `data` on the channel, like `Channel.sendall`."""
        position, total = 0, len(data)
        while position < total:
            sizes = self._reserve(min(total - position, BATCH_BYTES))
            batch = data[position : position + sum(sizes)]
            if not self._send_fast(batch, sizes):
                self._send_plain(batch, sizes)
            position += len(batch)

    def _send_plain(self, batch: memoryview, sizes: list[int]) -> None:
        """paramiko's path after `Channel._send` has taken the window: it waits for a key
        exchange to finish."""
        at = 0
        for size in sizes:
            m = paramiko.Message()
            m.add_byte(bytes((MSG_CHANNEL_DATA,)))
            m.add_int(self._chan.remote_chanid)
            m.add_string(bytes(batch[at : at + size]))
            self._transport._send_user_message(m)
            at += size
            self.handed_over += 1

    def _send_fast(self, batch: memoryview, sizes: list[int]) -> bool:
        """Encrypt and send the batch as `len(sizes)` packets; False, having sent nothing,
        when the transport isn't clear to send (a key exchange) or the cipher changed."""
        transport, p = self._transport, self._packetizer
        if not transport.active:
            raise EOFError("the SSH connection is closed")
        with transport.clear_to_send_lock:
            if not transport.clear_to_send.is_set():
                return False
            with p._Packetizer__write_lock:
                if not self._usable():
                    return False
                out = self._encrypt(batch, sizes)
                self._write(out)
                self._count(len(sizes), len(out))
        return True

    def _encrypt(self, batch: memoryview, sizes: list[int]) -> memoryview:
        """The batch's packets, encrypted, one after the other (holding the write lock)."""
        p = self._packetizer
        engine: AESGCM = p._Packetizer__block_engine_out
        iv: bytes = p._Packetizer__iv_out
        fixed, counter = iv[:4], int.from_bytes(iv[4:], "big")
        chanid = self._chan.remote_chanid
        paddings = [3 + _AEAD_BLOCK - ((size + 13) % _AEAD_BLOCK) for size in sizes]
        need = sum(4 + 10 + size + pad + _TAG for size, pad in zip(sizes, paddings, strict=True))
        if len(self._out) < need:
            self._out = bytearray(need)
        out = memoryview(self._out)
        text = memoryview(self._text)
        noise = os.urandom(sum(paddings))
        at = used = noise_at = 0
        for size, pad in zip(sizes, paddings, strict=True):
            length = 10 + size + pad  # padding length byte, payload, padding
            _HEADER.pack_into(text, 0, pad, MSG_CHANNEL_DATA, chanid, size)
            text[10 : 10 + size] = batch[at : at + size]
            text[10 + size : length] = noise[noise_at : noise_at + pad]
            _LENGTH.pack_into(out, used, length)
            engine.encrypt_into(
                fixed + counter.to_bytes(8, "big"),
                text[:length],
                out[used : used + 4],
                out[used + 4 : used + 4 + length + _TAG],
            )
            counter += 1
            at += size
            noise_at += pad
            used += 4 + length + _TAG
        p._Packetizer__iv_out = fixed + counter.to_bytes(8, "big")
        return out[:used]

    def _write(self, out: memoryview) -> None:
        """Write all of `out` to the socket, as paramiko's `write_all` does: retry on the
        transport's short socket timeout; EOFError on a closed or broken connection, or when
        nothing could be written for the channel's timeout (the connection is then unusable:
        close it)."""
        p, transport = self._packetizer, self._transport
        sock: socket.socket = p._Packetizer__socket
        limit: float | None = self._chan.gettimeout()
        last = time.monotonic()
        while out:
            try:
                sent = sock.send(out)
            except TimeoutError:
                if not transport.active or p.closed:
                    raise EOFError("the SSH connection closed while sending") from None
                if limit is not None and time.monotonic() - last > limit:
                    raise EOFError(f"the SSH connection took nothing for {limit:g} s") from None
                continue
            except OSError as err:
                raise EOFError(f"the SSH connection broke while sending: {err}") from None
            out = out[sent:]
            last = time.monotonic()
        p._Packetizer__keepalive_last = time.time()

    def _count(self, packets: int, sent: int) -> None:
        """paramiko's sequence number and rekey accounting for the packets just sent."""
        p = self._packetizer
        p._Packetizer__sequence_number_out = (
            p._Packetizer__sequence_number_out + packets
        ) & 0xFFFFFFFF
        p._Packetizer__sent_packets += packets
        p._Packetizer__sent_bytes += sent
        too_much = (
            p._Packetizer__sent_packets >= p.REKEY_PACKETS
            or p._Packetizer__sent_bytes >= p.REKEY_BYTES
        )
        if too_much and not p._Packetizer__need_rekey:
            p._trigger_rekey()
