"""PathStepDetector: a publisher's path change told from its packets' send times, not from the queues a
sender builds itself."""

import pytest

from media.sfu.path_step import PathStepDetector

UNITS = 1 << 18  # abs-send-time: 6.18 fixed-point seconds in 24 bits


class Uplink:
    """Packets every `interval` s whose one-way delay is `delay(t)`; the sender's clock is `offset` s
    ahead of ours (only differences count). `steps`: when (arrival) each step was told."""

    def __init__(self, offset: float = 37.0) -> None:
        self.steps: list[float] = []
        self.t = 100.0
        self.offset = offset
        self.arrival = 0.0
        self.detector = PathStepDetector(lambda: self.steps.append(self.arrival))

    def send(self, seconds: float, delay, interval: float = 0.02) -> None:
        end = self.t + seconds
        while self.t < end:
            self.t += interval
            sent = self.t + self.offset
            self.arrival = self.t + delay(self.t)
            self.detector.add(int(sent * UNITS) % (1 << 24), int(self.arrival * 1000))


def test_a_handover_to_a_longer_path_is_told_once_as_soon_as_it_has_held():
    uplink = Uplink()
    uplink.send(5.0, lambda t: 0.05)
    step_at = uplink.t
    uplink.send(3.0, lambda t: 0.25 + min(0.3, (t - step_at) * 0.5))  # 200 ms longer, then a queue builds
    first_late = step_at + 0.02 + 0.25  # the first packet on the new path arrives
    assert len(uplink.steps) == 1
    assert PathStepDetector.HOLD_S <= uplink.steps[0] - first_late <= PathStepDetector.HOLD_S + 0.05


def test_a_stall_that_drains_within_the_hold_is_no_step():
    uplink = Uplink()
    uplink.send(5.0, lambda t: 0.05)
    stall_end = uplink.t + 0.3
    # a Wi-Fi stall: packets held until it ends, then the backlog drains at the link's rate in 100 ms
    uplink.send(1.0, lambda t: 0.05 + max(0.0, stall_end - t) + (0.1 if stall_end - 0.3 <= t < stall_end else 0.0))
    uplink.send(3.0, lambda t: 0.05)
    assert uplink.steps == []


def test_a_queue_the_sender_builds_itself_is_no_step_however_deep():
    uplink = Uplink()
    uplink.send(5.0, lambda t: 0.05)
    start = uplink.t
    uplink.send(4.0, lambda t: 0.05 + min(0.6, (t - start) * 0.3))  # an encoder overshooting its link
    assert uplink.steps == []


def test_the_first_seconds_tell_nothing_and_a_step_after_the_old_base_expires_is_told_again():
    uplink = Uplink()
    uplink.send(0.5, lambda t: 0.05)
    uplink.send(1.0, lambda t: 0.3)  # a step before the base is known
    assert uplink.steps == []
    uplink.send(12.0, lambda t: 0.3)  # the new path is the base now
    uplink.send(1.0, lambda t: 0.55)
    assert len(uplink.steps) == 1
    uplink.send(12.0, lambda t: 0.55)
    uplink.send(1.0, lambda t: 0.8)  # and once that one is the base, the next step is news again
    assert len(uplink.steps) == 2


def test_the_send_time_wrapping_every_64_seconds_is_no_step():
    uplink = Uplink(offset=63.0 - 100.0)  # the sender's clock reaches 64 s (and wraps) after 1 s
    uplink.send(5.0, lambda t: 0.05)
    uplink.send(70.0, lambda t: 0.05)  # and again a minute later
    assert uplink.steps == []
    uplink.send(1.0, lambda t: 0.3)
    assert len(uplink.steps) == 1


def test_the_standing_queue_is_the_least_delay_above_the_base_and_a_told_step_is_the_new_base():
    uplink = Uplink()
    uplink.send(5.0, lambda t: 0.05 + (0.04 if int(t * 15) % 3 == 0 else 0.0))  # frames' bursts, no queue
    assert uplink.detector.queue_s < 0.005
    start = uplink.t
    uplink.send(2.0, lambda t: 0.05 + min(0.3, (t - start) * 0.6))  # the sender overfills its link
    assert uplink.detector.queue_s == pytest.approx(0.3, abs=0.01)
    uplink.send(2.0, lambda t: 0.05)
    assert uplink.detector.queue_s < 0.005
    uplink.send(1.5, lambda t: 0.25)  # a handover to a path 200 ms longer: told, then no queue on it
    assert len(uplink.steps) == 1
    assert uplink.detector.queue_s < 0.005
