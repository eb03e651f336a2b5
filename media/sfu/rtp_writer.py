"""Builds outgoing RTP bytes for one consumer: its payload type, SSRC, sequence and timestamp space,
and its own header extensions. Struct packing only: no packet objects are created per hop."""

from __future__ import annotations

import struct
import time

_HEADER = struct.Struct("!BBHLL")
_EXT_HEADER = struct.Struct("!HH")
_NTP_EPOCH_OFFSET = 2208988800


def abs_send_time_now() -> bytes:
    """The 24-bit abs-send-time (6.18 fixed-point seconds) for a packet leaving now."""
    t = time.time() + _NTP_EPOCH_OFFSET
    value = int(t * (1 << 18)) & 0xFFFFFF
    return value.to_bytes(3, "big")


class RtpWriter:
    """Writes RTP headers for one outgoing stream (a consumer's sender)."""

    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        mid: str | None = None,
        mid_ext_id: int = 0,
        abs_send_time_ext_id: int = 0,
    ) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc
        fixed = b""
        if mid and mid_ext_id:
            encoded = mid.encode()
            fixed += bytes([(mid_ext_id << 4) | (len(encoded) - 1)]) + encoded
        self._fixed_ext = fixed
        self._ast_prefix = bytes([(abs_send_time_ext_id << 4) | 2]) if abs_send_time_ext_id else b""
        ext_len = len(fixed) + (4 if self._ast_prefix else 0)
        self._padding = b"\x00" * (-ext_len % 4)
        self._ext_words = (ext_len + len(self._padding)) // 4
        self._has_ext = ext_len > 0

    def write(self, marker: int, sequence_number: int, timestamp: int, payload: bytes, abs_send_time: bytes) -> bytes:
        if not self._has_ext:
            return _HEADER.pack(0x80, (marker << 7) | self.payload_type, sequence_number, timestamp, self.ssrc) + payload
        ext = self._fixed_ext
        if self._ast_prefix:
            ext += self._ast_prefix + abs_send_time
        return b"".join(
            (
                _HEADER.pack(0x90, (marker << 7) | self.payload_type, sequence_number, timestamp, self.ssrc),
                _EXT_HEADER.pack(0xBEDE, self._ext_words),
                ext,
                self._padding,
                payload,
            )
        )

    def write_rtx(
        self,
        rtx_payload_type: int,
        rtx_ssrc: int,
        rtx_sequence_number: int,
        original_sequence_number: int,
        marker: int,
        timestamp: int,
        payload: bytes,
    ) -> bytes:
        """A retransmission in RFC 4588 form: the original sequence number leads the payload."""
        return (
            _HEADER.pack(0x80, (marker << 7) | rtx_payload_type, rtx_sequence_number, timestamp, rtx_ssrc)
            + struct.pack("!H", original_sequence_number)
            + payload
        )

    def write_padding(self, payload_type: int, ssrc: int, sequence_number: int, timestamp: int, size: int,
                      abs_send_time: bytes) -> bytes:
        """A padding-only packet (a bandwidth probe) of `size` padding bytes (1–255), with our header
        extensions so the subscriber's delay-based estimator sees it."""
        size = max(1, min(255, size))
        padding = b"\x00" * (size - 1) + bytes([size])
        ext = self._fixed_ext + (self._ast_prefix + abs_send_time if self._ast_prefix else b"")
        if not self._has_ext:
            return _HEADER.pack(0xA0, payload_type, sequence_number, timestamp, ssrc) + padding
        return b"".join((
            _HEADER.pack(0xB0, payload_type, sequence_number, timestamp, ssrc),
            _EXT_HEADER.pack(0xBEDE, self._ext_words), ext, self._padding, padding,
        ))
