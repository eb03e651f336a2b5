"""A peer connection whose media crosses one shaped link of the relay.

It rewrites the server's candidates as they arrive (`setRemoteDescription` → `Link.route`) and its own
as they leave (`localDescription` → `Link.expose`), so both peers only ever see relay addresses
(see `bench.ice_rewrite`). Pass `shaped_factory(shaper, link)` as a `SignalingClient`'s
`peer_connection_factory`: both its publish and subscribe connections then go through the link.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from bench.ice_rewrite import rewrite_sdp
from bench.shaper_process import ShaperControl


class ShapedPeerConnection(RTCPeerConnection):
    """An aiortc peer connection that reaches the server only through `link` of `shaper`."""

    def __init__(self, shaper: ShaperControl, link: int) -> None:
        super().__init__(RTCConfiguration(iceServers=[]))
        self._shaper = shaper
        self._link = link

    @property
    def localDescription(self) -> RTCSessionDescription:  # type: ignore[override]
        description = super().localDescription
        if description is None:
            return description
        sdp = rewrite_sdp(description.sdp, lambda addr: self._shaper.expose(self._link, addr))
        return RTCSessionDescription(sdp=sdp, type=description.type)

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        sdp = rewrite_sdp(sessionDescription.sdp, lambda addr: self._shaper.route(self._link, addr))
        await super().setRemoteDescription(RTCSessionDescription(sdp=sdp, type=sessionDescription.type))


def shaped_factory(shaper: ShaperControl, link: int) -> Callable[[], RTCPeerConnection]:
    return lambda: ShapedPeerConnection(shaper, link)
