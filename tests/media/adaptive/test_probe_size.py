"""How large a probe the allocator sends: past what the wanting streams need, within where the link ended."""

import pytest

from media.adaptive.allocator import StreamAllocator

NEED = 130_304  # what an edge patient's paused picture needs to resume (T3 with FEC, low audio, margin)
INF = float("inf")


def test_an_estimate_just_under_what_resuming_needs_is_probed_past_it():
    """After the handover's probe carried 129,418 bit/s (0.7 % short of the need), nothing probed again
    and the picture stayed paused on 3G: the next probe must still be sent, and show more than the need."""
    show = StreamAllocator.probe_show(NEED, 129_418, INF, step=1.0)
    assert show is not None and show > NEED


def test_a_probe_for_the_target_leaves_room_for_what_it_is_measured_to_carry():
    show = StreamAllocator.probe_show(NEED, 68_597, INF, step=None)  # after a handover: straight for the need
    assert show is not None and show >= 1.04 * NEED  # carried came out up to 1 % under the padding


def test_no_probe_past_where_the_link_ended_while_video_is_paused():
    assert StreamAllocator.probe_show(NEED, 129_418, limit=129_418, step=1.0) is None  # a ceiling at the estimate


def test_no_probe_that_could_prove_nothing_new():
    assert StreamAllocator.probe_show(100_000, 100_000, INF, step=0.25) is None  # the need is already met


def test_a_stepping_probe_stays_one_step_past_the_base():
    assert StreamAllocator.probe_show(400_000, 100_000, INF, step=0.25) == pytest.approx(125_000)
