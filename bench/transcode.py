"""`vaidya-bench transcode`: what the shared transcoder costs per publisher, and that subscribers add ~nothing.

P publishers send 1280×720 at 15 fps (the bench's moving, stamped content, encoded once with PyAV at
~1.5 Mbit/s and replayed as RTP in a loop) into producers of a real Router in this process — no network.
Each producer gets a VideoTranscoder with T1 (360p) and T2 (180p) active, and K real Consumers per tier
writing into counting ports (the network stands there). The run has one phase per subscriber count
(1, 10 and --subscribers), each `--seconds` long after a warm-up, all in the same invocation.

Figures (process CPU, every thread, all of the SFU's work: producer receive, transcode, fan-out, consumers):
- `cpu_per_publisher_ms`: CPU-ms per input frame per publisher (process CPU ÷ input frames of all
  publishers), at --subscribers per tier. × 15 is the CPU-ms one publisher costs per second.
- `transcoded_publishers_per_core`: 1000 ÷ (cpu_per_publisher_ms × 15): publishers one core transcodes.
- `cpu_ratio_10_to_1`: cpu per input frame with 10 subscribers per tier ÷ with 1.
- `decodes_per_frame`: decoder calls ÷ input frames (exactly 1 when nothing was dropped or skipped).
- `encodes_per_tier_frame`: per tier, encoder calls ÷ frames the tier sent — whatever the subscribers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from typing import Any

import av
from aiortc.codecs import H264Encoder, Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from bench.report import save_json
from bench.video_source import render
from media.adaptive.codecs import H264, VIDEO_TIME_BASE, open_encoder
from media.adaptive.ladder import DEFAULT_LADDER
from media.adaptive.tier import TierSource
from media.adaptive.transcoder import VideoTranscoder
from media.sfu.consumer import Consumer
from media.sfu.producer import Producer
from media.sfu.router import Router

WIDTH, HEIGHT, FPS, SOURCE_KBPS = 1280, 720, 15, 1500
LOOP_FRAMES = 45  # 3 s: one keyframe at the start of the loop, then delta frames
TIERS = ("T1", "T2")
CODECS = {
    "vp8": RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96),
    "h264": RTCRtpCodecParameters(
        mimeType="video/H264", clockRate=90000, payloadType=102,
        parameters={"packetization-mode": "1", "level-asymmetry-allowed": "1", "profile-level-id": "42e01f"},
    ),
}


def encode_loop(codec: RTCRtpCodecParameters, frames: int = LOOP_FRAMES) -> list[list[bytes]]:
    """The publisher's stream, encoded once: RTP payloads per frame, a keyframe first."""
    mime = codec.mimeType.lower()
    encoder = open_encoder(mime, WIDTH, HEIGHT, SOURCE_KBPS, FPS)
    packer = H264Encoder() if mime == H264 else Vp8Encoder()
    loop: list[list[bytes]] = []
    for n in range(frames):
        frame = av.VideoFrame.from_ndarray(render(n, n * 1000 // FPS, WIDTH, HEIGHT), format="yuv420p")
        frame.pts = n * 90000 // FPS
        frame.time_base = VIDEO_TIME_BASE
        payloads: list[bytes] = []
        for packet in encoder.encode(frame):
            payloads += packer.pack(packet)[0]
        loop.append(payloads)
    return loop


class Replay:
    """One publisher replaying the loop as RTP (fresh sequence numbers and timestamps), and its Upstream.
    Pre-encoded: it cannot honour PLIs, but nothing is lost in-process, so none is needed past the first
    keyframe (each publisher starts at the loop's start)."""

    def __init__(self, codec: RTCRtpCodecParameters, loop: list[list[bytes]]) -> None:
        self.codec = codec
        self.loop = loop
        self.frames = 0
        self.plis = 0
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._ssrc = random.getrandbits(32)

    async def send_pli(self) -> None:
        self.plis += 1

    async def send_nack(self, lost: list[int]) -> None:
        pass

    async def send_frame(self, producer: Producer) -> None:
        payloads = self.loop[self.frames % len(self.loop)]
        timestamp = (self._ts + self.frames * 90000 // FPS) & 0xFFFFFFFF
        for i, payload in enumerate(payloads):
            producer.receive_rtp(RtpPacket(
                payload_type=self.codec.payloadType, marker=int(i == len(payloads) - 1),
                sequence_number=self._seq, timestamp=timestamp, ssrc=self._ssrc, payload=payload,
            ))
            self._seq = (self._seq + 1) & 0xFFFF
        self.frames += 1


class CountingPort:
    """What a Consumer writes to, standing in for a subscriber's network path: it counts what it gets."""

    def __init__(self) -> None:
        self.ssrc = random.getrandbits(32)
        self.rtx_ssrc = random.getrandbits(32)
        self.payload_type: int | None = 96
        self.rtx_payload_type: int | None = None
        self.mid = "0"
        self.mid_ext_id = 1
        self.abs_send_time_ext_id = 3
        self.rtt: float | None = None
        self.last_rtt_sample: tuple[float, float] | None = None
        self.ready = asyncio.Event()
        self.ready.set()
        self.packets = 0
        self.bytes = 0
        self.on_nack: Any = None
        self.on_keyframe_request: Any = None
        self.on_remb: Any = None
        self.on_receiver_report: Any = None

    def send(self, data: bytes, payload_size: int) -> None:
        self.packets += 1
        self.bytes += len(data)

    def resend(self, data: bytes) -> None:
        self.send(data, 0)

    async def ping(self) -> float | None:
        return None  # no network path to measure

    def set_sender_report_reference(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        pass


class Bench:
    def __init__(self, codec: RTCRtpCodecParameters, publishers: int) -> None:
        self.router = Router("bench-transcode")
        loop = encode_loop(codec)
        self.replays = [Replay(codec, loop) for _ in range(publishers)]
        self.producers = [self.router.create_producer(f"pub{i}", "video", codec, r) for i, r in enumerate(self.replays)]
        self.transcoders = [VideoTranscoder(self.router, p, DEFAULT_LADDER) for p in self.producers]
        self.tiers: list[TierSource] = [t.acquire(name) for t in self.transcoders for name in TIERS]

    async def play(self, seconds: float) -> None:
        """Every publisher sends 15 fps in real time, their frames spread evenly over each frame interval."""
        start = time.monotonic()
        step = 1 / FPS / len(self.replays)
        slot = 0
        while True:
            due = start + slot * step
            if due - start >= seconds:
                return
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.replays[slot % len(self.replays)].send_frame(self.producers[slot % len(self.producers)])
            slot += 1

    def counts(self) -> dict[str, Any]:
        stats = [t.stats for t in self.transcoders]
        return {
            "input_frames": sum(s.input_frames for s in stats),
            "decodes": sum(s.decodes for s in stats),
            "decode_ms": sum(s.decode_ms for s in stats),
            "encodes": {n: sum(s.tiers[n].encodes for s in stats) for n in TIERS},
            "encode_ms": {n: sum(s.tiers[n].encode_ms for s in stats) for n in TIERS},
            "dropped_encodes": {n: sum(s.tiers[n].dropped_encodes for s in stats) for n in TIERS},
            "tier_frames": {n: sum(t.stats.frames for t in self.tiers if t.name == n) for n in TIERS},
            "tier_packets": {n: sum(t.stats.packets for t in self.tiers if t.name == n) for n in TIERS},
        }

    async def phase(self, subscribers: int, seconds: float, warmup: float) -> dict[str, Any]:
        """`subscribers` consumers on each tier of each publisher; CPU over `seconds` after `warmup`."""
        ports: list[CountingPort] = []
        consumers: list[Consumer] = []
        for tier in self.tiers:
            for i in range(subscribers):
                ports.append(CountingPort())
                consumers.append(self.router.create_consumer(tier, f"sub{i}", ports[-1]))  # type: ignore[arg-type]
        await self.play(warmup)
        await _drained(self.transcoders)
        before, cpu0, wall0 = self.counts(), time.process_time(), time.monotonic()
        packets0 = sum(p.packets for p in ports)
        await self.play(seconds)
        await _drained(self.transcoders)
        after, cpu, wall = self.counts(), time.process_time() - cpu0, time.monotonic() - wall0
        for consumer in consumers:
            consumer.close()
        delta = _delta(after, before)
        frames = max(delta["input_frames"], 1)
        # Codec work the run skipped because the codec threads fell behind, at this run's own cost per call:
        # without it a loaded machine would make transcoding look cheaper.
        skipped_ms = max(frames - delta["decodes"], 0) * delta["decode_ms"] / max(delta["decodes"], 1)
        skipped_ms += sum(delta["dropped_encodes"][n] * delta["encode_ms"][n] / max(delta["encodes"][n], 1) for n in TIERS)
        return {
            "subscribers_per_tier": subscribers,
            "cpu_ms_per_input_frame": round((cpu * 1000 + skipped_ms) / frames, 3),
            "measured_cpu_ms_per_input_frame": round(cpu * 1000 / frames, 3),
            "cpu_pct": round(100 * cpu / wall, 1),
            "delivered_packets": sum(p.packets for p in ports) - packets0,
            "codec_thread_ms_per_input_frame": {
                "decode": round(delta["decode_ms"] / frames, 3),
                **{n: round(delta["encode_ms"][n] / frames, 3) for n in TIERS},
            },
            **delta,
        }


async def _drained(transcoders: list[VideoTranscoder]) -> None:
    while not all(t.idle for t in transcoders):
        await asyncio.sleep(0.005)


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {k: _delta(v, before[k]) if isinstance(v, dict) else round(v - before[k], 3) for k, v in after.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(CODECS[args.codec], args.publishers)
    phases = [await bench.phase(k, args.seconds, args.warmup) for k in sorted({1, 10, args.subscribers})]
    for transcoder in bench.transcoders:
        transcoder.close()
    bench.router.close()
    by_k = {p["subscribers_per_tier"]: p for p in phases}
    main = by_k[args.subscribers]
    frames = sum(p["input_frames"] for p in phases)
    per_frame = main["cpu_ms_per_input_frame"]
    return {
        "codec": args.codec,
        "publishers": args.publishers,
        "subscribers_per_tier": args.subscribers,
        "source": f"{WIDTH}x{HEIGHT} {FPS} fps {SOURCE_KBPS} kbit/s",
        "tiers": {n: {"height": DEFAULT_LADDER.video_tier(n).height, "kbps": DEFAULT_LADDER.video_tier(n).kbps,
                      "fps": DEFAULT_LADDER.video_tier(n).fps} for n in TIERS},
        "seconds": args.seconds,
        "cpu_per_publisher_ms": per_frame,
        "measured_cpu_per_publisher_ms": main["measured_cpu_ms_per_input_frame"],
        "cpu_per_publisher_ms_per_s": round(per_frame * FPS, 1),
        "transcoded_publishers_per_core": round(1000 / (per_frame * FPS), 2) if per_frame else None,
        "cpu_ratio_10_to_1": round(by_k[10]["cpu_ms_per_input_frame"] / by_k[1]["cpu_ms_per_input_frame"], 3),
        "decodes_per_frame": round(sum(p["decodes"] for p in phases) / max(frames, 1), 4),
        "encodes_per_tier_frame": {
            n: round(sum(p["encodes"][n] for p in phases) / max(sum(p["tier_frames"][n] for p in phases), 1), 4)
            for n in TIERS
        },
        "dropped_encodes": {n: sum(p["dropped_encodes"][n] for p in phases) for n in TIERS},
        "max_backlog_frames": max(t.stats.max_backlog for t in bench.transcoders),
        "warning": _warning(phases),
        "phases": phases,
        "definitions": {
            "cpu_per_publisher_ms": "process CPU-ms (all threads) per input frame per publisher, plus the codec "
                                    "time of any decodes/encodes skipped because the codec threads fell behind "
                                    "(at the run's own mean cost per call); measured_cpu_per_publisher_ms without",
            "transcoded_publishers_per_core": f"1000 / (cpu_per_publisher_ms * {FPS})",
            "cpu_ratio_10_to_1": "cpu_ms_per_input_frame with 10 consumers per tier / with 1",
        },
    }


def _warning(phases: list[dict[str, Any]]) -> str | None:
    """Dropped encodes and skipped decodes mean part of the CPU figure is an estimate: say so."""
    worst = max(phases, key=lambda p: sum(p["dropped_encodes"].values()) / max(p["input_frames"], 1))
    share = sum(worst["dropped_encodes"].values()) / max(len(TIERS) * worst["input_frames"], 1)
    skipped = any(p["decodes"] != p["input_frames"] for p in phases)
    if share <= 0.01 and not skipped:
        return None
    return (f"the codec threads fell behind (up to {100 * share:.0f} % of tier encodes dropped"
            f"{', frames skipped' if skipped else ''}): the CPU figures add the skipped calls' cost as estimated; "
            "another process probably held the CPUs — run again on a quieter machine or with fewer publishers")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transcode", help="CPU of the shared transcoder (720p -> 360p + 180p) per publisher")
    p.add_argument("--publishers", type=int, default=4, help="publishers at 1280x720 15 fps (default 4)")
    p.add_argument("--subscribers", type=int, default=1, help="consumers per tier for the main figure (default 1)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured window per phase (default 10)")
    p.add_argument("--warmup", type=float, default=1.5, help="seconds of flow before each phase (default 1.5)")
    p.add_argument("--codec", choices=sorted(CODECS), default="vp8", help="publisher and tier codec (default vp8)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=main_transcode)


def main_transcode(args: argparse.Namespace) -> int:
    if args.publishers < 1 or args.subscribers < 1 or args.seconds <= 0 or args.warmup < 0:
        print("vaidya-bench transcode: --publishers, --subscribers must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    try:
        from uvloop import new_event_loop  # the server's own event loop (`vaidya serve` runs on it)
    except ImportError:  # pragma: no cover
        new_event_loop = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=new_event_loop) as runner:  # no process-wide policy change
        report = runner.run(run(args))
    text = save_json(report, args.json)
    keys = ["cpu_per_publisher_ms", "measured_cpu_per_publisher_ms", "transcoded_publishers_per_core", "cpu_ratio_10_to_1", "decodes_per_frame",
            "encodes_per_tier_frame", "dropped_encodes", "warning"]
    print("\n".join(f"{k}: {report[k]}" for k in keys) if args.json else text)
    return 0
