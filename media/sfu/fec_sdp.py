"""Offer RED and ULPFEC on the video sections of a subscribe offer, and read whether the answer took them.

aiortc knows neither codec, and it rebuilds its local description from its own state, so the offer it
made is edited as text on its way to the subscriber, and the answer is read as text before aiortc sees it
(aiortc drops the codecs it does not know, which suits us: it never sends with them; the consumer does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RED = "red/90000"
ULPFEC = "ulpfec/90000"
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) (\S+)", re.MULTILINE)
_CODEC_LINE = ("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")


@dataclass(frozen=True)
class FecPayloadTypes:
    """The payload types a subscriber accepted for RED and ULPFEC on one video section."""

    red: int
    ulpfec: int


def _sections(sdp: str) -> list[str]:
    """The session part, then one string per m-section (each starts with "m=")."""
    return re.split(r"(?m)^(?=m=)", sdp)


def _free_payload_types(sdp: str, count: int) -> list[int]:
    used = {int(pt) for pt, _ in _RTPMAP.findall(sdp)}
    for line in re.findall(r"(?m)^m=\S+ \S+ \S+ (.*)$", sdp):
        used.update(int(pt) for pt in line.split() if pt.isdigit())
    free = [pt for pt in range(127, 95, -1) if pt not in used]
    if len(free) < count:
        raise ValueError("no free dynamic payload types for RED and ULPFEC")
    return free[:count]


def offer_red_ulpfec(sdp: str, types: FecPayloadTypes | None = None) -> tuple[str, FecPayloadTypes | None]:
    """The offer with red/90000 and ulpfec/90000 added (last, so never preferred) to each video section,
    and the payload types used: `types` if given (a renegotiation keeps what the first offer chose), else
    two unused ones. One pair for every section: under BUNDLE a payload type means one codec."""
    sections = _sections(sdp)
    if not any(s.startswith("m=video") for s in sections):
        return sdp, types
    if types is None:
        types = FecPayloadTypes(*_free_payload_types(sdp, 2))
    red, ulpfec = types.red, types.ulpfec
    eol = "\r\n" if "\r\n" in sdp else "\n"
    out = []
    for section in sections:
        if section.startswith("m=video"):
            lines = section.split(eol)
            lines[0] = f"{lines[0]} {red} {ulpfec}"
            last = max((i for i, line in enumerate(lines) if line.startswith(_CODEC_LINE)), default=0)
            lines[last + 1:last + 1] = [f"a=rtpmap:{red} {RED}", f"a=rtpmap:{ulpfec} {ULPFEC}"]
            section = eol.join(lines)
        out.append(section)
    return "".join(out), types


def accepted_red_ulpfec(answer: str) -> dict[str, FecPayloadTypes]:
    """{mid: payload types} for each video section of an answer that lists both RED and ULPFEC."""
    accepted: dict[str, FecPayloadTypes] = {}
    for section in _sections(answer):
        if not section.startswith("m=video"):
            continue
        mid = re.search(r"(?m)^a=mid:(\S+)", section)
        formats = section.split("\n", 1)[0].split()[3:]
        names = {name.lower(): int(pt) for pt, name in _RTPMAP.findall(section) if pt in formats}
        if mid and RED in names and ULPFEC in names:
            accepted[mid.group(1)] = FecPayloadTypes(names[RED], names[ULPFEC])
    return accepted
