"""The share of a subscriber's latest packets it NACKed: each lost packet once, across the wrap, and
falling as receiver reports show newer packets arrived."""

import pytest

from media.sfu.nack import NackedShare


def test_a_packet_nacked_again_counts_once():
    share = NackedShare()
    for seq in range(100, 148, 4):  # 12 of 48 lost, each asked for three times
        for _ in range(3):
            share.nacked(seq)
    share.reached(147)
    assert share.share(48) == pytest.approx(12 / 48)


def test_the_span_ends_at_the_newest_packet_seen_across_the_wrap():
    share = NackedShare()
    for seq in (65530, 65534, 1, 5):
        share.nacked(seq)
    assert share.share(16) == pytest.approx(4 / 16)  # 65526 .. 5
    share.reached(100)  # a receiver report: everything up to 100 arrived but those four
    assert share.share(16) == 0.0
    assert share.share(200) == pytest.approx(4 / 200)


def test_nothing_nacked_is_no_loss_and_old_entries_are_forgotten():
    share = NackedShare(capacity=8)
    assert share.share(48) == 0.0
    for seq in range(20):
        share.nacked(seq)
    assert share.share(48) == pytest.approx(8 / 48)  # only the newest eight are kept


def test_after_a_mark_only_the_packets_sent_since_count_and_too_few_say_nothing():
    """A flood's NACKs arrive a round trip after its cut: they must not read as the lowest picture's loss."""
    share = NackedShare()
    for seq in range(65500, 65536):  # the flood: every packet before the mark lost
        share.nacked(seq)
    mark = 65535
    share.reached(3)  # 4 packets since the mark seen, none lost
    assert share.share(48) > 0.5
    assert share.share(48, after=mark) == 0.0  # too few to say
    share.nacked(20)
    share.reached(40)  # 41 since the mark, one lost
    assert share.share(48, after=mark) == pytest.approx(1 / 41)
    assert share.share(48, after=60) == 0.0  # nothing after the mark seen yet
