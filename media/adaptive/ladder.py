"""The quality ladder as data: what each tier is, and what it costs on the wire.

T0 is the publisher's own stream, forwarded untouched. T1–T3 are transcoded renditions, never larger
than the publisher's own picture. "A" is audio only: video paused for that subscriber. Audio has two
rungs: the publisher's Opus as it is, and a shared low-rate Opus tier for links that cannot carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

ORIGINAL = "T0"
AUDIO_ONLY = "A"

#: IP (20) + UDP (8) + SRTP tag (10) + RTP header and extensions (~20) bytes around every packet.
PACKET_OVERHEAD_BYTES = 58
#: A video payload packet is at most this big (aiortc's packetizers cut at 1300 bytes).
VIDEO_PACKET_BYTES = 1200


@dataclass(frozen=True)
class VideoTier:
    """One transcoded video rendition: a height cap (width keeps the source's aspect), a bitrate, a rate."""

    name: str
    height: int
    kbps: int
    fps: float

    def wire_bps(self) -> int:
        """What this tier costs on the link, packet overhead included."""
        payload = self.kbps * 1000
        packets_per_s = max(self.fps, payload / 8 / VIDEO_PACKET_BYTES)
        return int(payload + packets_per_s * PACKET_OVERHEAD_BYTES * 8)

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """Output size for a source of `width`×`height`: never above it, even dimensions, aspect kept."""
        out_h = min(self.height, height)
        out_w = round(width * out_h / height) if height else width
        return max(2, out_w - out_w % 2), max(2, out_h - out_h % 2)


@dataclass(frozen=True)
class AudioTier:
    """The shared low-rate audio rendition: mono Opus with in-band FEC in long packets."""

    name: str = "A-low"
    #: libopus (1.6) adds in-band FEC only from ~16 kbit/s, and only when told to expect heavy loss:
    #: at 14 kbit/s it never does (see media/adaptive/audio_codec.py).
    kbps: int = 16
    ptime_ms: int = 60
    fec: bool = True

    def wire_bps(self) -> int:
        return int(self.kbps * 1000 + (1000 / self.ptime_ms) * PACKET_OVERHEAD_BYTES * 8)


@dataclass(frozen=True)
class Ladder:
    """Video tiers best first (T1, T2, T3), the low audio tier, and the rule for resuming video."""

    video: tuple[VideoTier, ...]
    audio_low: AudioTier = AudioTier()

    def names(self) -> list[str]:
        """Every rung a video consumer can be on, best first."""
        return [ORIGINAL, *(t.name for t in self.video), AUDIO_ONLY]

    def video_tier(self, name: str) -> VideoTier:
        for tier in self.video:
            if tier.name == name:
                return tier
        raise KeyError(name)

    def lowest_video(self) -> VideoTier:
        return self.video[-1]

    def rank(self, name: str) -> int:
        """0 for T0, growing as quality falls; AUDIO_ONLY is last."""
        return self.names().index(name)


DEFAULT_LADDER = Ladder(
    video=(
        VideoTier("T1", height=360, kbps=450, fps=30),
        VideoTier("T2", height=180, kbps=150, fps=15),
        # 64 kbit/s: with the publisher's 32 kbit/s Opus (~55 kbit/s on the wire) it fits a 150 kbit/s 2G link
        VideoTier("T3", height=144, kbps=64, fps=15),
    ),
)


def ladder_from_config(data: dict[str, Any] | None) -> Ladder:
    """A ladder from a config table, e.g. `{"T2": {"height": 180, "kbps": 120, "fps": 12}}`: tiers named
    there override the defaults' fields; unknown tiers or fields are an error."""
    if not data:
        return DEFAULT_LADDER
    tiers = {t.name: t for t in DEFAULT_LADDER.video}
    audio = DEFAULT_LADDER.audio_low
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise ValueError(f"ladder.{name} must be a table")
        if name == AUDIO_ONLY or name == audio.name:
            allowed = {"kbps", "ptime_ms", "fec"}
        elif name in tiers:
            allowed = {"height", "kbps", "fps"}
        else:
            raise ValueError(f"unknown ladder tier {name!r} (known: {', '.join([*tiers, audio.name])})")
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"ladder.{name}: unknown fields {', '.join(sorted(unknown))}")
        if name in tiers:
            tiers[name] = replace(tiers[name], **fields)
        else:
            audio = replace(audio, **fields)
    video = tuple(sorted(tiers.values(), key=lambda t: -t.kbps))
    for tier in video:
        if tier.height < 2 or tier.kbps < 10 or tier.fps <= 0:
            raise ValueError(f"ladder.{tier.name}: height, kbps and fps must be positive")
    return Ladder(video=video, audio_low=audio)
