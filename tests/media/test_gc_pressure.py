"""What a busy worker leaves for the garbage collector: nothing per packet that outlives a collection.

A worker's full collections walk every tracked object; kept packets and REMB buckets were most of them
and set off a full collection every ~10 s at 30 consultations (65–155 ms loop stalls, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import random

import aiortc.rate
from aiortc.rate import RateCounter as AiortcRateCounter  # collected before any test patches it
from aiortc.rtp import RtpPacket

from media.sfu.aiortc_bridge import compact_rate_windows
from media.sfu.packet_cache import VIDEO_HISTORY, PacketCache
from media.sfu.rate_window import RateWindow


def _packet(seq: int) -> RtpPacket:
    return RtpPacket(payload_type=96, marker=seq % 3 == 0, sequence_number=seq, timestamp=seq * 3000,
                     ssrc=1234, payload=bytes([seq & 0xFF]) * 100)


def test_a_cached_packet_comes_back_as_it_went_in() -> None:
    cache = PacketCache(VIDEO_HISTORY)
    for seq in range(65000, 65536 + 300):
        cache.put(_packet(seq & 0xFFFF))
    got = cache.get(100)
    assert got is not None
    assert (got.sequence_number, got.timestamp, got.marker, got.payload) == (100, 300000, 0, bytes([100]) * 100)
    assert cache.get(65000) is None  # overwritten by a newer packet in its slot
    assert cache.get(299) is not None and cache.get(300) is None  # never sent
    assert PacketCache(0).get(5) is None


def test_kept_packets_stop_being_tracked_after_one_collection() -> None:
    cache = PacketCache(VIDEO_HISTORY)
    for seq in range(VIDEO_HISTORY):
        cache.put(_packet(seq))
    gc.collect(0)
    tracked = sum(gc.is_tracked(slot) for slot in cache._slots)
    assert tracked == 0


def test_rate_window_answers_as_aiortcs_counter_does() -> None:
    rng = random.Random(7)
    theirs, ours = AiortcRateCounter, RateWindow
    for trial in range(20):
        a, b = theirs(1000, 8000), ours(1000, 8000)
        now = rng.randrange(0, 10**9)
        for _ in range(3000):
            step = rng.choice([0, 0, 1, 1, 2, 5, 20, 400, 999, 1000, 1001, 2500])
            now += step
            if rng.random() < 0.02:
                a.reset()
                b.reset()
            if rng.random() < 0.7:
                size = rng.randrange(1, 1300)
                a.add(size, now)
                b.add(size, now)
            assert a.rate(now) == b.rate(now), (trial, now)


def _tracked_below(root: object) -> int:
    """Tracked objects reachable from `root` (its instance state; classes and modules not followed)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type) or not gc.is_tracked(obj):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return len(seen)


def test_compact_rate_windows_reach_new_remb_estimators() -> None:
    original = aiortc.rate.RateCounter
    try:
        aiortc.rate.RateCounter = AiortcRateCounter
        assert _tracked_below(aiortc.rate.RemoteBitrateEstimator().incoming_bitrate) > 1000
        compact_rate_windows()
        estimator = aiortc.rate.RemoteBitrateEstimator()
        assert isinstance(estimator.incoming_bitrate, RateWindow)
        assert _tracked_below(estimator.incoming_bitrate) < 10
    finally:
        aiortc.rate.RateCounter = original

