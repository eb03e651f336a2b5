"""A PathStepDetector: sees a publisher's access network change from the packets it sends us.

A handover from 3G to 2G lengthens the path both ways at once (100 → 300 ms each way, here) and floods
both queues. The subscriber's own feedback about its downlink (NACKs, receiver reports, REMB, ping
answers) then crosses that flooded uplink: in the bench's 3G → 2G step the first of it reached the
server 1.3–1.6 s after the step, and the picture stayed frozen until the cut it caused (1.0–1.9 s,
measured). The same participant's uplink shows the step far sooner: its packets carry their send
time (abs-send-time), and 0.4 s after the step the server saw their one-way delay 200 ms above its
base, then rising (measured). That is what this detector watches.

A path change is told from the queues a sender builds itself by how it starts and how long it lasts:
- the delay rises by `STEP_S` from one packet to the next (a gap in arrivals), where a queue grows a few
  milliseconds per packet (a keyframe's burst, an encoder overshooting its link);
- and stays at least `STEP_S` above the base for `HOLD_S`, where a Wi-Fi stall's backlog drains in less.
The base is the least one-way delay of the last `BASE_WINDOW_S` (rebuilt from the new path once a step is
told); the sender's clock offset cancels out. The same delays give `queue_s`, the standing queue on the
publisher's path, which tells the uplink governor whether a falling REMB is a queue or the estimator's noise.
"""

from __future__ import annotations

from collections.abc import Callable

#: abs-send-time (RFC draft, webrtc.org): 24-bit seconds in 6.18 fixed point, wrapping every 64 s.
_ABS_SEND_TIME_UNITS = 1 << 18
_ABS_SEND_TIME_WRAP = 1 << 24


class PathStepDetector:
    #: A rise in one-way delay that is a step: a quarter of a 2G round trip, far above a packet's
    #: serialization on 3G (7 ms) and Wi-Fi's usual jitter.
    STEP_S = 0.15
    #: ... held this long by every packet (at least `HOLD_PACKETS`): a path that changed stays longer.
    HOLD_S = 0.2
    HOLD_PACKETS = 4
    #: The base is the least delay over this window (kept per second, so the old path is forgotten
    #: after it: a step is told once).
    BASE_WINDOW_S = 10.0
    #: No step is told until the base has been measured this long (a call's first packets come in bursts).
    WARMUP_S = 2.0
    #: The standing queue is the least excess over the last one to two half-windows of this: a frame's
    #: burst or a late packet raises single packets, a queue all of them.
    QUEUE_WINDOW_S = 1.0

    def __init__(self, on_step: Callable[[], None]) -> None:
        self.on_step = on_step
        self.steps = 0
        self._first_at = float("inf")  # when the first packet came
        self._wraps = 0
        self._last_send = 0
        self._buckets: list[tuple[int, float]] = []  # (second of arrival, least delay in it)
        self._base = float("inf")
        self._last_excess = 0.0
        self._high_since: float | None = None
        self._high_packets = 0
        self._told = False
        self._queue_slot = -1  # which half-window the packets now arriving fall in
        self._queue_least = (float("inf"), float("inf"))  # least excess in the previous and this one

    @property
    def queue_s(self) -> float | None:
        """The standing queue on the publisher's path: its least delay above the base lately (None
        before any packet). After a step the base is rebuilt from the new path's packets, so the part of a
        handover's flood that stood when the step was told counts as path until it drains (the base
        then follows it down)."""
        least = min(self._queue_least)
        return None if least == float("inf") else max(0.0, least)

    def add(self, abs_send_time: int, arrival_ms: int) -> None:
        """One packet's abs-send-time (24 bits) and arrival (ms, the receiver's clock)."""
        if abs_send_time < self._last_send - _ABS_SEND_TIME_WRAP // 2:
            self._wraps += 1
        elif abs_send_time > self._last_send + _ABS_SEND_TIME_WRAP // 2 and self._wraps:
            return  # a late packet from before the last wrap
        self._last_send = abs_send_time
        arrival = arrival_ms / 1000
        delay = arrival - (abs_send_time + self._wraps * _ABS_SEND_TIME_WRAP) / _ABS_SEND_TIME_UNITS
        self._track_base(arrival, delay)
        excess = delay - self._base
        slot = int(arrival * 2 / self.QUEUE_WINDOW_S)
        if slot != self._queue_slot:
            previous = self._queue_least[1] if slot == self._queue_slot + 1 else float("inf")
            self._queue_slot, self._queue_least = slot, (previous, excess)
        elif excess < self._queue_least[1]:
            self._queue_least = (self._queue_least[0], excess)
        if excess < self.STEP_S:
            self._high_since = None
            if excess < self.STEP_S / 2:
                self._told = False  # back near the base: the next step is news
        elif self._high_since is None:
            # sudden (a path change or a stall, not a queue), and after the base was known for a while
            if excess - self._last_excess >= self.STEP_S and arrival - self._first_at >= self.WARMUP_S:
                self._high_since = arrival
                self._high_packets = 1
        else:
            self._high_packets += 1
            if not self._told and arrival - self._high_since >= self.HOLD_S and self._high_packets >= self.HOLD_PACKETS:
                self._told = True
                self.steps += 1
                self._rebase()
                self.on_step()
        self._last_excess = excess

    def _rebase(self) -> None:
        """The new path is the base from now on: its delay is no queue (the next step is news too)."""
        self._buckets.clear()
        self._base = float("inf")
        self._queue_least = (float("inf"), float("inf"))

    def _track_base(self, arrival: float, delay: float) -> None:
        self._first_at = min(self._first_at, arrival)
        second = int(arrival)
        buckets = self._buckets
        if buckets and buckets[-1][0] == second:
            if delay < buckets[-1][1]:
                buckets[-1] = (second, delay)
                self._base = min(self._base, delay)
            return
        buckets.append((second, delay))
        while second - buckets[0][0] >= self.BASE_WINDOW_S:
            buckets.pop(0)
        self._base = min(least for _, least in buckets)
