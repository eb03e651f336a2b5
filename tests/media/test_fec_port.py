"""A protected consumer's numbering: FEC packets take numbers of the media stream, and the port maps the
consumer's sends, retransmissions and the subscriber's NACKs between the two spaces."""

from __future__ import annotations

from media.sfu.fec_port import FecPort
from media.sfu.fec_sdp import FecPayloadTypes
from media.sfu.rtp_writer import RtpWriter
from media.sfu.ulpfec import header_size, zero_one_byte_extension
from tests.media.test_ulpfec import SSRC, VP8_PT, media, recover

TYPES = FecPayloadTypes(red=120, ulpfec=121)
RTX_SSRC, RTX_PT = 0x55667788, 97


class WirePort:
    """The network side of a SenderPort: keeps what would be sent, in order, and the NACK handler the
    consumer installed (what FecPort must wrap)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.resent: list[bytes] = []
        self.nacked: list[list[int]] = []
        self.rtx_ssrc = RTX_SSRC
        self.abs_send_time_ext_id = 3
        self.on_nack = self._consumer_nack

    def _consumer_nack(self, lost: list[int]) -> None:
        self.nacked.append(lost)

    def send(self, data: bytes, payload_size: int) -> None:
        self.sent.append(data)

    def resend(self, data: bytes) -> None:
        self.resent.append(data)


def seq(packet: bytes) -> int:
    return int.from_bytes(packet[2:4], "big")


def unred(packet: bytes) -> bytes:
    """A RED media packet as libwebrtc's receiver rebuilds it, abs-send-time zeroed."""
    size = header_size(packet)
    media_packet = packet[:1] + bytes([(packet[1] & 0x80) | packet[size]]) + packet[2:size] + packet[size + 1:]
    return zero_one_byte_extension(media_packet, 3)


async def _protected(rate: float, count: int, first: int = 65530) -> tuple[FecPort, WirePort, list[int]]:
    wire = WirePort()
    fec_sizes: list[int] = []
    port = FecPort(wire, TYPES, fec_sizes.append)  # type: ignore[arg-type]
    port.rate = rate
    for i in range(count):  # one-packet frames, as a low tier sends
        port.send(media(first + i, 3000 * i, 200 + i, marker=1), 200 + i)
    return port, wire, fec_sizes


async def test_fec_packets_sit_between_the_media_on_one_run_of_sequence_numbers():
    port, wire, fec_sizes = await _protected(0.25, 12)
    numbers = [seq(p) for p in wire.sent]
    assert numbers == [(65530 + i) & 0xFFFF for i in range(15)]  # no gap, no repeat, across the wrap
    kinds = ["fec" if p[header_size(p)] == TYPES.ulpfec else "media" for p in wire.sent]
    assert kinds == (["media"] * 4 + ["fec"]) * 3
    assert all(p[1] & 0x7F == TYPES.red for p in wire.sent)
    assert len(fec_sizes) == 3 and fec_sizes[0] == len(wire.sent[4])
    # what Chromium rebuilds from the wire repairs a lost media packet
    fec = wire.sent[9]
    received = {seq(p): unred(p) for p in wire.sent[5:9] if seq(p) != seq(wire.sent[7])}
    [(lost_seq, rebuilt)] = recover(fec[header_size(fec) + 1:], received, SSRC).items()
    assert lost_seq == seq(wire.sent[7]) and rebuilt == unred(wire.sent[7])


async def test_nacks_reach_the_consumer_in_its_own_numbers_and_lost_fec_is_not_repaired():
    port, wire, _ = await _protected(0.25, 12, first=1000)
    # wire 1000–1003 media (consumer 1000–1003), 1004 FEC, 1005–1008 media (consumer 1004–1007), 1009 FEC,
    # 1010–1013 media (consumer 1008–1011), 1014 FEC
    wire.on_nack([1001, 1004, 1006, 1009, 1012, 1014])
    assert wire.nacked == [[1001, 1005, 1010]]
    assert port.wire_seq(1005) == 1006 and port.consumer_seq(1006) == 1005


async def test_a_retransmission_carries_the_wire_number_and_padding_passes_untouched():
    port, wire, _ = await _protected(0.25, 8, first=1000)
    writer = RtpWriter(VP8_PT, SSRC)
    port.resend(writer.write_rtx(RTX_PT, RTX_SSRC, 7, 1005, 1, 3000, b"payload"))
    assert wire.resent[-1][12:14] == (1006).to_bytes(2, "big") and wire.resent[-1][14:] == b"payload"
    padding = writer.write_padding(RTX_PT, RTX_SSRC, 8, 3000, 100, b"\0\0\0")
    port.resend(padding)
    assert wire.resent[-1] == padding
    port.resend(media(1005, 3000, 50))  # a repair without RTX: renumbered, in RED
    assert seq(wire.resent[-1]) == 1006 and wire.resent[-1][1] & 0x7F == TYPES.red


async def test_a_late_packet_gets_the_number_of_its_place_and_rate_zero_sends_red_only():
    port, wire, _ = await _protected(0.25, 8, first=1000)
    port.send(media(1002, 6000, 80), 80)  # late: before the first FEC packet
    assert seq(wire.sent[-1]) == 1002
    port.rate = 0.0
    before = len(wire.sent)
    for i in range(8, 16):
        port.send(media(1000 + i, 3000 * i, 100, marker=1), 100)
    after = wire.sent[before:]
    assert [seq(p) for p in after] == [1010 + i for i in range(8)]  # continues after the two FEC packets
    assert all(p[header_size(p)] == VP8_PT for p in after)


async def test_a_clean_link_keeps_its_video_past_half_the_sequence_space():
    """Once FEC stops (a link that recovered), the last offset must keep matching: sequence numbers wrap,
    and a consultation's video passes 32,768 packets in about twelve minutes."""
    port, wire, _ = await _protected(0.25, 8, first=100)  # 8 media and 2 FEC: the wire runs 2 ahead
    port.rate = 0
    for i in range(8, 40_008):
        port.send(media(100 + i, 3000 * i, 20, marker=1), 20)
    assert len(wire.sent) == 40_010
    assert seq(wire.sent[-1]) == (100 + 40_007 + 2) & 0xFFFF
    wire.on_nack([seq(wire.sent[-5])])
    assert wire.nacked == [[(100 + 40_003) & 0xFFFF]]
