"""A browser page's media through one shaped link: its signaling socket, with every ICE candidate rewritten.

A browser's peer connections cannot be subclassed like aiortc's (`bench.shaped_peer`), so Playwright
intercepts the page's WebSocket to the server and rewrites the candidates in both directions with
`bench.ice_rewrite`: the server only ever learns the relay's server-facing address for the browser, and
the browser only the relay's client-facing address for the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench.ice_rewrite import rewrite_candidate, rewrite_sdp
from bench.shaper import Addr


def through_link(shaper: Any, link: Callable[[], int]) -> Callable[[Any], None]:
    """A Playwright WebSocket route handler that points every ICE candidate of the page's signaling at
    the relay's link `link()` (asked afresh for each message, so a caller can move the page to a new
    link). `shaper` is a `ShaperProcess` or `ShaperClient`; use it with `page.route_web_socket`."""

    def ipv4(translate: Callable[[Addr], Addr]) -> Callable[[Addr], Addr | None]:
        return lambda addr: translate(addr) if ":" not in addr[0] else None  # the relay listens on IPv4

    to_server = ipv4(lambda addr: shaper.expose(link(), addr))  # how the server will see the browser
    to_browser = ipv4(lambda addr: shaper.route(link(), addr))  # where the browser must send to reach the server

    def handler(page_socket: Any) -> None:
        server_socket = page_socket.connect_to_server()

        def upstream(text: str | bytes) -> None:
            message = json.loads(text)
            if message.get("type") == "ice" and message.get("candidate"):
                line = rewrite_candidate(message["candidate"]["candidate"], to_server)
                if line is None:
                    return  # TCP or IPv6: a path around the relay, so it is not offered
                message["candidate"]["candidate"] = line
            if "sdp" in message:
                message["sdp"] = rewrite_sdp(message["sdp"], to_server)
            server_socket.send(json.dumps(message))

        def downstream(text: str | bytes) -> None:
            message = json.loads(text)
            if "sdp" in message:
                message["sdp"] = rewrite_sdp(message["sdp"], to_browser)
            page_socket.send(json.dumps(message))

        page_socket.on_message(upstream)
        server_socket.on_message(downstream)

    return handler
