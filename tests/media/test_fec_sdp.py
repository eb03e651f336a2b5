"""RED and ULPFEC offered on a real aiortc subscribe offer, and read back from an answer."""

from __future__ import annotations

import re

from aiortc import RTCPeerConnection, RTCSessionDescription

from media.sfu.aiortc_bridge import IdleTrack
from media.sfu.fec_sdp import FecPayloadTypes, accepted_red_ulpfec, offer_red_ulpfec


async def _offer() -> str:
    pc = RTCPeerConnection()
    pc.addTransceiver(IdleTrack("audio"), direction="sendonly")
    pc.addTransceiver(IdleTrack("video"), direction="sendonly")
    pc.addTransceiver(IdleTrack("video"), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def _answer_from(offer: str, keep: tuple[str, ...]) -> str:
    """An answer as a browser writes one: each section's formats, keeping only the codecs named."""
    out = []
    for section in re.split(r"(?m)^(?=m=)", offer):
        if section.startswith("m=video"):
            kept = [pt for pt, name in re.findall(r"a=rtpmap:(\d+) (\S+)", section) if name.split("/")[0] in keep]
            lines = [ln for ln in section.splitlines() if not ln.startswith("a=rtpmap:")
                     or ln.split(":")[1].split()[0] in kept]
            head = lines[0].split()
            lines[0] = " ".join(head[:3] + kept)
            section = "\r\n".join(lines) + "\r\n"
        out.append(section)
    return "".join(out)


async def test_every_video_section_gets_one_pair_of_unused_payload_types_and_aiortc_accepts_the_answer():
    offer = await _offer()
    munged, chosen = offer_red_ulpfec(offer)
    videos = [s for s in re.split(r"(?m)^(?=m=)", munged) if s.startswith("m=video")]
    assert len(videos) == 2
    pairs = set()
    for section in videos:
        maps = dict(re.findall(r"a=rtpmap:(\d+) (\S+)", section))
        red = next(pt for pt, name in maps.items() if name == "red/90000")
        ulpfec = next(pt for pt, name in maps.items() if name == "ulpfec/90000")
        formats = section.splitlines()[0].split()[3:]
        assert formats[-2:] == [red, ulpfec]  # listed last: never the preferred codec
        pairs.add((red, ulpfec))
    assert len(pairs) == 1  # the same numbers in every bundled section
    red, ulpfec = pairs.pop()
    assert chosen == FecPayloadTypes(int(red), int(ulpfec))
    assert offer_red_ulpfec(offer, FecPayloadTypes(110, 111))[0].count("a=rtpmap:110 red/90000") == 2  # kept
    assert red not in re.findall(r"a=rtpmap:(\d+)", offer) and ulpfec not in re.findall(r"a=rtpmap:(\d+)", offer)
    audio = re.split(r"(?m)^(?=m=)", munged)[1]
    assert "red/90000" not in audio

    # aiortc itself takes the munged offer as a remote description and answers without the codecs it lacks
    answerer = RTCPeerConnection()
    await answerer.setRemoteDescription(RTCSessionDescription(munged, "offer"))
    answer = await answerer.createAnswer()
    await answerer.close()
    assert accepted_red_ulpfec(answer.sdp) == {}


async def test_an_answer_that_keeps_both_is_read_per_mid_and_one_that_keeps_red_alone_is_not():
    munged, _ = offer_red_ulpfec(await _offer())
    maps = dict((name, int(pt)) for pt, name in re.findall(r"a=rtpmap:(\d+) (\S+)", munged))
    both = accepted_red_ulpfec(_answer_from(munged, ("VP8", "rtx", "red", "ulpfec")))
    expected = FecPayloadTypes(maps["red/90000"], maps["ulpfec/90000"])
    assert both == {"1": expected, "2": expected}
    assert accepted_red_ulpfec(_answer_from(munged, ("VP8", "rtx", "red"))) == {}


def test_an_offer_without_video_is_left_as_it_is():
    sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 opus/48000/2\r\n"
    assert offer_red_ulpfec(sdp) == (sdp, None)
