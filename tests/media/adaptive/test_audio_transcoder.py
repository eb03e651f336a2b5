"""The shared low-rate audio tier: real Opus RTP through a real Router and Producer, real libopus codecs."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import glob
import os
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media.adaptive.audio_transcoder import AudioTranscoder
from media.adaptive.ladder import AudioTier
from media.sfu.router import Router
from tests.conftest import wait_until

TONE_HZ = 440
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
TIER = AudioTier()


def speech_like_tone(start: int, count: int) -> np.ndarray:
    """A 440 Hz tone swelling at 3 Hz like syllables (Opus's voice detector takes it for speech, so it
    adds FEC; a steady tone would not be)."""
    t = np.arange(start, start + count) / 48000
    return (9000 * np.sin(2 * np.pi * TONE_HZ * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.int16)


def chromium_like_opus_rtp(seconds: float, first_ts: int = 0xFFFF0000) -> list[RtpPacket]:
    """What Chromium sends: mono Opus at 32 kbit/s in 20 ms packets, one RTP packet each (the first
    timestamp sits near the 32-bit wrap so the tier's unwrapping is exercised)."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "mono", "s16"
    encoder.bit_rate, encoder.time_base = 32000, Fraction(1, 48000)
    encoder.options = {"application": "voip", "frame_duration": "20"}
    packets = []
    for i in range(int(seconds * 50)):
        frame = av.AudioFrame.from_ndarray(speech_like_tone(i * 960, 960).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * 960
        for encoded in encoder.encode(frame):
            packets.append(RtpPacket(payload_type=111, sequence_number=(1000 + len(packets)) & 0xFFFF,
                                     timestamp=(first_ts + len(packets) * 960) & 0xFFFFFFFF, ssrc=1234,
                                     payload=bytes(encoded)))
    return packets


class NoUpstream:
    """The publisher side of a producer fed by the test itself (audio never asks it for anything)."""

    async def send_pli(self) -> None: ...
    async def send_nack(self, lost: list[int]) -> None: ...


class PacketLog:
    """A subscriber stand-in on the tier: records what the router fans out to it."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []

    def send_rtp(self, packet: RtpPacket, abs_send_time: bytes) -> None:
        self.packets.append(packet)


def room() -> tuple[Router, object]:
    router = Router("tier-test")
    return router, router.create_producer("publisher", "audio", OPUS, NoUpstream())


def one_subscriber_on_the_tier(max_backlog: int = 1000) -> tuple[object, AudioTranscoder, PacketLog]:
    """A producer, its audio transcoder, and one subscriber stand-in on the tier."""
    router, producer = room()
    transcoder = AudioTranscoder(router, producer, TIER, max_backlog=max_backlog)
    log = PacketLog()
    router.add_tap(transcoder.acquire().id, log)
    return producer, transcoder, log


def decode_separately(payloads: list[bytes]) -> tuple[np.ndarray, list[int]]:
    """Decode with a fresh Opus decoder: the audio, and how many samples each packet held."""
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout = 48000, "mono"
    chunks, sizes = [], []
    for payload in payloads:
        frames = decoder.decode(av.Packet(payload))
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
        chunks.append(samples)
        sizes.append(len(samples))
    return np.concatenate(chunks).astype(np.float64), sizes


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 48000)[np.argmax(spectrum)])


def libopus() -> ctypes.CDLL:
    """The libopus PyAV carries (else the system's), for what PyAV does not expose: FEC decoding."""
    bundled = glob.glob(os.path.join(os.path.dirname(av.__file__), os.pardir, "av.libs", "libopus*"))
    path = bundled[0] if bundled else ctypes.util.find_library("opus")
    assert path, "no libopus to check FEC with"
    return ctypes.CDLL(path)


def recover_previous_with_fec(lib: ctypes.CDLL, payload: bytes, samples: int) -> np.ndarray:
    """What a receiver that lost the packet before `payload` rebuilds from `payload`'s in-band FEC.
    A fresh decoder has nothing to conceal from, so without FEC data this is silence."""
    error = ctypes.c_int()
    lib.opus_decoder_create.restype = ctypes.c_void_p
    decoder = lib.opus_decoder_create(48000, 1, ctypes.byref(error))
    assert error.value == 0
    pcm = (ctypes.c_int16 * samples)()
    try:
        n = lib.opus_decode(ctypes.c_void_p(decoder), payload, len(payload), pcm, samples, 1)
    finally:
        lib.opus_decoder_destroy(ctypes.c_void_p(decoder))
    assert n == samples
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float64)


async def feed(producer, packets: list[RtpPacket]) -> None:
    for packet in packets:
        producer.receive_rtp(packet)


@pytest.mark.parametrize("subscribers", [1, 10])
async def test_each_input_packet_is_decoded_once_and_each_60_ms_encoded_once_however_many_subscribe(subscribers):
    router, producer = room()
    transcoder = AudioTranscoder(router, producer, TIER, max_backlog=1000)
    logs = []
    for _ in range(subscribers):
        tier = transcoder.acquire()
        logs.append(PacketLog())
        router.add_tap(tier.id, logs[-1])
    assert len({id(transcoder.acquire())}) == 1 and transcoder.users == subscribers + 1
    transcoder.release()

    packets = chromium_like_opus_rtp(3.0)  # 150 packets of 20 ms = 50 packets of 60 ms
    await feed(producer, packets)
    await wait_until(lambda: transcoder.stats.decodes == len(packets), "every input packet decoded")
    await wait_until(lambda: all(len(log.packets) == 50 for log in logs), "50 tier packets at every subscriber")
    await asyncio.sleep(0.1)
    assert transcoder.stats.packets_in == 150
    assert transcoder.stats.decodes == 150
    assert transcoder.stats.encodes == 50
    assert all([p.payload for p in log.packets] == [p.payload for p in logs[0].packets] for log in logs)
    transcoder.close()


async def test_the_tier_carries_the_same_tone_at_about_16_kbps_in_60_ms_packets_with_fec():
    producer, transcoder, log = one_subscriber_on_the_tier()
    packets = chromium_like_opus_rtp(4.0)
    await feed(producer, packets)
    await wait_until(lambda: transcoder.stats.encodes == 200 * 960 // 2880, "the tier's packets")
    await wait_until(lambda: len(log.packets) == transcoder.stats.encodes, "fan-out")
    out = log.packets

    # timestamps: the producer's clock, from the first input packet on, 60 ms apart
    assert out[0].timestamp == packets[0].timestamp
    assert {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(out, out[1:])} == {2880}
    assert all(p.ssrc == out[0].ssrc != packets[0].ssrc for p in out)

    audio, sizes = decode_separately([p.payload for p in out])
    assert set(sizes) == {2880}  # each payload holds 60 ms
    assert abs(dominant_hz(audio[4800:]) - TONE_HZ) < 5
    assert np.sqrt(np.mean(audio[4800:] ** 2)) > 1000  # loud, not a whisper of codec noise

    kbps = sum(len(p.payload) for p in out) * 8 / (len(out) * 0.060) / 1000
    input_kbps = sum(len(p.payload) for p in packets) * 8 / 4.0 / 1000
    assert 12 <= kbps <= 18, kbps
    assert input_kbps > 1.6 * kbps  # the point of the tier

    lib = libopus()
    recovered = [recover_previous_with_fec(lib, p.payload, 2880) for p in out[5:]]
    with_fec = [r for r in recovered if np.sqrt(np.mean(r**2)) > 300]
    assert len(with_fec) >= len(recovered) // 2, "most packets carry FEC for the one before"
    assert abs(dominant_hz(np.concatenate(with_fec)) - TONE_HZ) < 10  # and it is the same tone
    transcoder.close()


async def test_loss_on_the_input_becomes_short_silence_and_the_output_keeps_its_cadence():
    producer, transcoder, log = one_subscriber_on_the_tier()
    packets = chromium_like_opus_rtp(3.0)
    lost = set(range(10, 150, 9)) | set(range(60, 66))  # ~10 % scattered and a 120 ms burst
    arriving = [p for i, p in enumerate(packets) if i not in lost]
    arriving[20], arriving[21] = arriving[21], arriving[20]  # one packet overtaken: too late for its slot
    corrupt = arriving[10]  # the one right after a lost packet
    arriving[10] = RtpPacket(payload_type=111, sequence_number=corrupt.sequence_number,
                             timestamp=corrupt.timestamp, ssrc=corrupt.ssrc, payload=b"\xff\xff\x00")
    await feed(producer, arriving)
    await wait_until(lambda: transcoder.stats.decodes == len(arriving) - 1, "every packet in time decoded")
    await wait_until(lambda: len(log.packets) == transcoder.stats.encodes >= 49, "the tier's packets")

    assert transcoder.stats.late == 1
    assert transcoder.stats.decode_errors == 1
    # silence for each lost, overtaken or undecodable packet, and no more
    assert transcoder.stats.silence_samples == 960 * (len(lost) + 2)
    assert transcoder.stats.restarts == 0
    out = log.packets
    assert {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(out, out[1:])} == {2880}
    audio, _ = decode_separately([p.payload for p in out])
    assert abs(dominant_hz(audio[4800:]) - TONE_HZ) < 5
    transcoder.close()


async def test_a_long_gap_restarts_the_cadence_at_the_next_packet_in_the_producers_clock():
    producer, transcoder, log = one_subscriber_on_the_tier()
    packets = chromium_like_opus_rtp(5.0)
    await feed(producer, packets[:100] + packets[200:])  # 2 s missing (say, the producer paused)
    await wait_until(lambda: transcoder.stats.decodes == 150, "every packet decoded")
    await wait_until(lambda: transcoder.stats.restarts == 1 and len(log.packets) == transcoder.stats.encodes,
                     "a restart")
    stamps = [p.timestamp for p in log.packets]
    assert packets[200].timestamp in stamps  # the new cadence starts at the first packet after the gap
    steps = [(b - a) & 0xFFFFFFFF for a, b in zip(stamps, stamps[1:])]
    assert sorted(set(steps))[0] == 2880 and len([s for s in steps if s != 2880]) == 1
    transcoder.close()


async def test_the_backlog_is_bounded_and_the_tier_carries_on_after_an_overflow():
    producer, transcoder, log = one_subscriber_on_the_tier(max_backlog=10)
    packets = chromium_like_opus_rtp(2.0)
    await feed(producer, packets[:60])  # no pause for the codec thread: a burst of 60
    assert transcoder.stats.dropped == 50
    await wait_until(lambda: transcoder.stats.decodes == 10, "the newest 10 decoded")
    for packet in packets[60:]:  # then at the pace a publisher sends
        producer.receive_rtp(packet)
        await asyncio.sleep(0.02)
    await wait_until(lambda: transcoder.stats.decodes == 50, "the rest decoded")
    assert transcoder.stats.dropped == 50
    await wait_until(lambda: len(log.packets) == transcoder.stats.encodes > 0, "the tier still sends")
    transcoder.close()


async def test_the_last_release_stops_encoding_and_detaches_the_tap():
    router, producer = room()
    transcoder = AudioTranscoder(router, producer, TIER, max_backlog=1000)
    packets = chromium_like_opus_rtp(2.0)
    first = transcoder.acquire()
    assert transcoder.acquire() is first
    await feed(producer, packets[:30])
    await wait_until(lambda: transcoder.stats.encodes == 10, "encoding while in use")
    transcoder.release()
    await feed(producer, packets[30:60])
    await wait_until(lambda: transcoder.stats.encodes == 20, "still encoding with one user left")
    transcoder.release()
    assert transcoder.source is None and first.closed
    await feed(producer, packets[60:])
    await asyncio.sleep(0.2)
    assert transcoder.stats.packets_in == 60 and transcoder.stats.encodes == 20  # no tap, no codec work

    again = transcoder.acquire()  # a new user starts a fresh tier
    assert again is not first and not again.closed
    log = PacketLog()
    router.add_tap(again.id, log)
    await feed(producer, chromium_like_opus_rtp(0.6, first_ts=packets[-1].timestamp + 960))
    await wait_until(lambda: len(log.packets) == 10, "the restarted tier sends")
    producer.close()
    assert transcoder.closed and again.closed


class Listener:
    """Keeps every decoded sample a remote audio track plays (first channel)."""

    def __init__(self, track) -> None:
        self.chunks: list[np.ndarray] = []
        self._task = asyncio.ensure_future(self._run(track))

    async def _run(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                frame = await track.recv()
                channels = len(frame.layout.channels)
                self.chunks.append(frame.to_ndarray().reshape(-1)[::channels].astype(np.float64))
        except MediaStreamError:
            pass

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def test_a_real_subscriber_moved_onto_the_tier_hears_the_tone_at_a_fraction_of_the_bytes(sfu_server, clients):
    from signaling import keys
    from tests.helpers.media import ToneTrack
    from tests.helpers.server import token

    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("tier", token("tier", "patient-1"))
    await pub.publish(ToneTrack())
    viewer = await clients(sfu_server.ws_url)
    peer = await viewer.join("tier", token("tier", "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("audio", pub.participant_id), "audio at the viewer")
    listener = Listener(track)
    await wait_until(lambda: len(listener.chunks) > 25, "the original audio playing")

    room = sfu_server.app[keys.REGISTRY].get("tier")
    producer = next(p for p in room.producers() if p.kind == "audio")
    consumer = room.router.consumers_of(producer.id)[0]
    transcoder = AudioTranscoder(room.router, producer, TIER)
    bytes_before, t0 = consumer.stats.bytes, asyncio.get_running_loop().time()
    await asyncio.sleep(2.0)
    original_kbps = (consumer.stats.bytes - bytes_before) * 8 / (asyncio.get_running_loop().time() - t0) / 1000

    consumer.switch_source(transcoder.acquire())
    await asyncio.sleep(0.5)  # past the switch
    mark, bytes_before, t0 = len(listener.chunks), consumer.stats.bytes, asyncio.get_running_loop().time()
    await asyncio.sleep(3.0)
    tier_kbps = (consumer.stats.bytes - bytes_before) * 8 / (asyncio.get_running_loop().time() - t0) / 1000
    heard = np.concatenate(listener.chunks[mark:])

    assert consumer.source is transcoder.source
    # a steady tone is easy for Opus's VBR: below the target here (speech-like input: see above)
    assert tier_kbps <= 18 and tier_kbps < original_kbps / 4, (tier_kbps, original_kbps)
    assert len(heard) > 2.5 * 48000  # it kept playing
    assert abs(dominant_hz(heard) - TONE_HZ) < 5
    assert np.sqrt(np.mean(heard**2)) > 1000
    consumer.switch_source(producer)  # back to the original, then the tier's last user lets go
    transcoder.release()
    assert transcoder.source is None and transcoder.users == 0
    await listener.stop()
    await peer.leave()  # before the publisher, so no renegotiation races the fixture's teardown
