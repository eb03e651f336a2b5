"""Keyframes: spotting the start of one in a packet, and asking a publisher for one without flooding it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .background import spawn

#: At most one request toward a publisher per this many seconds (Galène uses 500 ms, mediasoup 1 s).
KEYFRAME_REQUEST_INTERVAL_S = 0.5


def is_vp8_keyframe_start(payload: bytes) -> bool:
    """True for the first packet of a VP8 key frame (RFC 7741 payload descriptor, then the VP8 header)."""
    if len(payload) < 2:
        return False
    first = payload[0]
    if not (first & 0x10) or (first & 0x07):  # S bit set and partition 0
        return False
    i = 1
    if first & 0x80:  # X: extension byte
        ext = payload[1]
        i = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if i >= len(payload):
                return False
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K: TID/KEYIDX
            i += 1
    return i < len(payload) and not (payload[i] & 0x01)  # P bit clear: key frame


def is_h264_keyframe_start(payload: bytes) -> bool:
    """True when a packet carries an IDR slice start or parameter sets (RFC 6184)."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            if payload[i + 2] & 0x1F in (5, 7):
                return True
            i += 2 + size
        return False
    if nal == 28 and len(payload) > 1:  # FU-A start fragment
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in (5, 7)
    return False


def keyframe_detector(mime_type: str) -> Callable[[bytes], bool]:
    mime = mime_type.lower()
    if mime == "video/vp8":
        return is_vp8_keyframe_start
    if mime == "video/h264":
        return is_h264_keyframe_start
    return lambda payload: True  # audio: every packet is a fine starting point


class KeyframeRequester:
    """Sends picture-loss indications upstream at most once per interval. A request made inside the
    interval is not lost: it is sent when the interval ends (so a late joiner still gets its keyframe)."""

    def __init__(
        self,
        send_pli: Callable[[], Awaitable[None]],
        interval_s: float = KEYFRAME_REQUEST_INTERVAL_S,
    ) -> None:
        self._send_pli = send_pli
        self._interval = interval_s
        self._last = -1e9
        self._deferred: asyncio.TimerHandle | None = None

    def request(self) -> None:
        now = time.monotonic()
        wait = self._last + self._interval - now
        if wait <= 0:
            self._fire()
        elif self._deferred is None:
            self._deferred = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._deferred = None
        self._last = time.monotonic()
        spawn(self._send_pli())

    def close(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
