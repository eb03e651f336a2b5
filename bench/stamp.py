"""A machine-readable stamp drawn into synthetic video frames and read back after decode.

The stamp carries a 16-bit frame counter, the send time as wall-clock milliseconds modulo
`STAMP_PERIOD_MS`, and a CRC-8 over both: 40 bits drawn as black/white cells in a 10 × 4 grid at the
top-left of the frame. Cells are sized relative to the frame (1/20 of its width, 1/11.25 of its height:
8 × 8 pixels at 160 × 90, 32 × 32 at 640 × 360), so the stamp survives downscaling by an SFU tier and
low-bitrate VP8; the reader samples only the centre of each cell, where codec and scaler blur least.

Send times are `time.time()` in ms modulo the period, so sender and receiver on one machine share the
clock and latency = (receive ms − stamp ms) mod period, unambiguous below 20 s. The same period is the
loop length of pre-encoded video (see `bench.video_source`), so looped frames carry true send times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

STAMP_PERIOD_MS = 20_000
COLUMNS, ROWS = 10, 4
BITS = COLUMNS * ROWS  # 16 counter + 16 time + 8 CRC
BLACK, WHITE = 16, 235
THRESHOLD = (BLACK + WHITE) // 2


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


_CRC8 = _crc8_table()


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07, as CRC-8/SMBUS): catches any misread of up to 2 cells and most others."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


@dataclass(frozen=True)
class Stamp:
    counter: int
    """Frame number modulo 2^16."""
    send_ms: int
    """Wall-clock send time in ms modulo STAMP_PERIOD_MS."""

    def bits(self) -> list[int]:
        payload = (self.counter & 0xFFFF).to_bytes(2, "big") + (self.send_ms % STAMP_PERIOD_MS).to_bytes(2, "big")
        value = int.from_bytes(payload + bytes([crc8(payload)]), "big")
        return [(value >> (BITS - 1 - i)) & 1 for i in range(BITS)]


def now_ms() -> int:
    """The stamp clock: wall-clock milliseconds modulo the stamp period."""
    return int(time.time() * 1000) % STAMP_PERIOD_MS


def latency_ms(receive_time: float, send_ms: int) -> int:
    """Milliseconds from a stamp's send time to `receive_time` (a `time.time()` value)."""
    return (int(receive_time * 1000) - send_ms) % STAMP_PERIOD_MS


def _cell_edges(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    xs = np.round(np.arange(COLUMNS + 1) * width / 20).astype(int)
    ys = np.round(np.arange(ROWS + 1) * height / 11.25).astype(int)
    return xs, ys


def stamp_area(width: int, height: int) -> tuple[int, int]:
    """Width and height in pixels of the stamp region at the top-left of a frame."""
    xs, ys = _cell_edges(width, height)
    return int(xs[-1]), int(ys[-1])


def draw(luma: np.ndarray, stamp: Stamp) -> None:
    """Draw `stamp` into a luma plane (uint8, height × width) in place."""
    height, width = luma.shape
    xs, ys = _cell_edges(width, height)
    for i, bit in enumerate(stamp.bits()):
        row, col = divmod(i, COLUMNS)
        luma[ys[row] : ys[row + 1], xs[col] : xs[col + 1]] = WHITE if bit else BLACK


def read(luma: np.ndarray) -> Stamp | None:
    """The stamp in a decoded luma plane, or None if it is unreadable (CRC mismatch).

    The stamp area is area-averaged down to 4 × 4 pixels per cell and each cell's central 2 × 2 is
    thresholded: one C call instead of a mean per cell, and the cells' blurred edges are left out.
    """
    height, width = luma.shape
    xs, ys = _cell_edges(width, height)
    if xs[-1] < COLUMNS * 2 or ys[-1] < ROWS * 2:
        return None
    small = cv2.resize(luma[: ys[-1], : xs[-1]], (COLUMNS * 4, ROWS * 4), interpolation=cv2.INTER_AREA)
    means = small.reshape(ROWS, 4, COLUMNS, 4)[:, 1:3, :, 1:3].mean(axis=(1, 3))
    value = int("".join("1" if bit else "0" for bit in (means > THRESHOLD).ravel()), 2)
    raw = value.to_bytes(5, "big")
    if crc8(raw[:4]) != raw[4]:
        return None
    send_ms = int.from_bytes(raw[2:4], "big")
    if send_ms >= STAMP_PERIOD_MS:
        return None
    return Stamp(int.from_bytes(raw[:2], "big"), send_ms)
