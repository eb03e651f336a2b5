"""The stamped source as files Chromium's fake devices play: a Y4M camera and a WAV microphone.

Chromium's `--use-file-for-fake-video-capture=FILE.y4m` plays a raw YUV 4:2:0 file at the rate in its
header, looping, from its first frame at the moment `getUserMedia` opens the camera;
`--use-file-for-fake-audio-capture=FILE.wav` does the same for the microphone. The files hold one stamp
period (20 s) of bench's own source (`bench.video_source.render`, `bench.audio_marks.period_pcm`), so a
receiver reads stamps, regenerates the source for PSNR and finds the audio markers exactly as it does for
an aiortc sender.

Send times. A file's frames are fixed before the camera opens, so each frame's stamp holds the time the
camera is *planned* to capture it: frame n is stamped `start_ms + n × 1000 / fps` (mod the period), and
the camera is opened so that frame 0 is captured at `start_ms` (`bench.browser_participant` delays the
page's `getUserMedia` to that instant). The real capture time of every frame is read back in the page
(`requestVideoFrameCallback`'s `captureTime` on the local preview, matched by stamp counter), so the
difference — the stamp's error as a send time — is measured and reported, not assumed. Because the file
is exactly one period long, each lap's frames keep true send times (modulo the period); Chromium paces
the file from its own timer, so any drift shows in that measured error too.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from bench import stamp
from bench.audio_marks import SAMPLE_RATE, period_pcm
from bench.video_source import render


def frames_per_period(fps: int) -> int:
    """Frames in one stamp period at `fps`: the file's length and where its counter wraps."""
    return stamp.STAMP_PERIOD_MS * fps // 1000


def planned_send_ms(n: int, fps: int, start_ms: int) -> int:
    """The stamped send time of file frame n: `start_ms` plus n frame intervals, modulo the period."""
    return (start_ms + n * 1000 // fps) % stamp.STAMP_PERIOD_MS


def write_y4m(path: Path, width: int, height: int, fps: int, start_ms: int) -> Path:
    """One stamp period of the stamped source as a Y4M file; frame n stamped `planned_send_ms(n, …)`.

    Written to a temporary name and renamed, so a camera opened meanwhile reads a whole file.
    """
    if width % 2 or height % 2:
        raise ValueError(f"4:2:0 needs even sizes, not {width}x{height}")
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(frames_per_period(fps)):
            f.write(b"FRAME\n")
            f.write(render(n, planned_send_ms(n, fps, start_ms), width, height).tobytes())
    tmp.replace(path)
    return path


def read_y4m(path: Path) -> tuple[int, int, int, list[np.ndarray]]:
    """(width, height, fps, frames as stacked yuv420p arrays): a file `write_y4m` wrote, for checking it."""
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    tags = {t[:1]: t[1:] for t in header.decode().split()[1:]}
    width, height = int(tags["W"]), int(tags["H"])
    fps = int(tags["F"].split(":")[0]) // int(tags["F"].split(":")[1])
    size = width * height * 3 // 2
    frames, at = [], 0
    while at < len(body):
        if body[at : at + 6] != b"FRAME\n":
            raise ValueError(f"no FRAME marker at byte {at}")
        at += 6
        frames.append(np.frombuffer(body[at : at + size], np.uint8).reshape(-1, width))
        at += size
    return width, height, fps, frames


def write_wav(path: Path, start_ms: int) -> Path:
    """One stamp period of the marked audio as 16-bit mono WAV, rotated so its first sample is the
    period's `start_ms`: opened at `start_ms`, each marker burst plays on its own second."""
    pcm = period_pcm()
    first = start_ms * SAMPLE_RATE // 1000
    rotated = np.concatenate([pcm[first:], pcm[:first]])
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(rotated, -1, 1) * 32767).astype("<i2").tobytes())
    tmp.replace(path)
    return path
