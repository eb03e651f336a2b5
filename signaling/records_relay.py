"""Every node serves the portal and Rx: a rooms-only node relays their requests to the records node
(multi-node, docs/scale.md "Records").

The records (one SQLite file) and what lives beside them — the queues' live versions, OTPs, the portal's
rate-limit counters — stay on one node, so nothing about them needs sharing: a patient queued through node A
and a doctor admitting on node B both reach the records node, which orders every change. A load balancer
may then send any request to any node. The relay finds the records node in the room directory (the live
node holding the records role), forwards the request as it came, with the client's address signed in
`X-Vaidya-Relayed-For` (client_address.py), and streams the reply back byte for byte (compressed bodies
stay compressed, cookies pass untouched and are never kept here). The queue's WebSocket is relayed frame
by frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from . import keys
from .client_address import RELAYED_FOR, client_address, relayed_for
from .directory import DirectoryUnavailable, Node, RoomDirectory
from .origin import require_allowed_origin

log = logging.getLogger(__name__)

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), and the client-address headers
#: this node replaces with its own signed one.
_NOT_FORWARDED = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade", "expect", "forwarded", "x-forwarded-for", RELAYED_FOR.lower(),
})
#: What a WebSocket handshake carries on to the records node (the rest is the handshake's own).
_WS_FORWARDED = ("Cookie", "Origin", "User-Agent", "Accept-Language", "Host")
#: How long the records node's address is reused before the directory is asked again.
LOOKUP_TTL_S = 2.0
#: A records node that cannot be connected to within this is reported unavailable; one whose reply stalls
#: for READ_TIMEOUT_S breaks the reply off.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0

SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("records_relay_session")


def http_base(node_url: str) -> str:
    """`ws://host:port/ws` (a node's relay URL in the directory) → `http://host:port`."""
    parts = urlsplit(node_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))


class RecordsNode:
    """Where the records node is, asked of the directory at most every `LOOKUP_TTL_S`."""

    def __init__(self, directory: RoomDirectory) -> None:
        self._directory = directory
        self._node: Node | None = None
        self._until = 0.0

    async def base(self) -> str:
        """The records node's http(s) base URL; HTTP 503 when no live node keeps the records."""
        now = time.monotonic()
        if self._node is None or now >= self._until:
            try:
                self._node = await self._directory.records_node()
            except DirectoryUnavailable as exc:
                log.warning("room directory unavailable while looking for the records node: %s", exc)
                self._node = None
            self._until = now + LOOKUP_TTL_S
        if self._node is None:
            raise _unavailable("no node keeps the records right now")
        return http_base(self._node.url)

    def forget(self) -> None:
        """The node could not be reached: ask the directory again next time."""
        self._node = None


RECORDS: web.AppKey[RecordsNode] = web.AppKey("records_node")


def _unavailable(why: str) -> web.HTTPServiceUnavailable:
    return web.HTTPServiceUnavailable(
        text=f"The clinic's records service cannot be reached ({why}). Please try again in a minute.",
        headers={"Retry-After": "5"})


def _signed_client(request: web.Request) -> str:
    return relayed_for(request.app[keys.CONFIG].secret, client_address(request))


def _forward_headers(request: web.Request) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        if name.lower() not in _NOT_FORWARDED:
            headers.add(name, value)
    headers[RELAYED_FOR] = _signed_client(request)
    return headers


async def relay(request: web.Request) -> web.StreamResponse:
    """Any portal or Rx request on a rooms-only node: answered by the records node."""
    records = request.app[RECORDS]
    base = await records.base()
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _relay_websocket(request, base)
    session = request.app[SESSION]
    data = request.content if request.body_exists else None
    try:
        upstream = await session.request(request.method, base + request.path_qs, headers=_forward_headers(request),
                                         data=data, allow_redirects=False)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        records.forget()
        log.warning("the records node at %s cannot be reached: %s", base, exc)
        raise _unavailable("the records node does not answer") from None
    async with upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            if name.lower() not in _NOT_FORWARDED and name.lower() != "content-length":
                response.headers.add(name, value)
        if upstream.content_length is not None and request.method != "HEAD":
            response.content_length = upstream.content_length
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:  # the reply broke off: so does ours
            log.warning("the records node's reply to %s broke off: %s", request.path, exc)
            raise
        await response.write_eof()
        return response


async def _relay_websocket(request: web.Request, base: str) -> web.StreamResponse:
    require_allowed_origin(request)
    headers = {name: request.headers[name] for name in _WS_FORWARDED if name in request.headers}
    headers[RELAYED_FOR] = _signed_client(request)
    url = base.replace("http", "ws", 1) + request.path_qs
    try:
        upstream = await request.app[SESSION].ws_connect(url, headers=headers, autoping=True)
    except aiohttp.WSServerHandshakeError as exc:  # refused there (no session, a foreign page): say the same
        return web.Response(status=exc.status if exc.status >= 400 else 502,
                            text=exc.message or "the records node refused this WebSocket")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        request.app[RECORDS].forget()
        log.warning("the records node at %s cannot be reached: %s", base, exc)
        raise _unavailable("the records node does not answer") from None
    client = web.WebSocketResponse(autoping=True, max_msg_size=64 * 1024)
    await client.prepare(request)

    async def pump(source: AsyncIterator[aiohttp.WSMessage], sink: web.WebSocketResponse
                   | aiohttp.ClientWebSocketResponse) -> None:
        async for message in source:
            if message.type == aiohttp.WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(message.data)

    up = asyncio.ensure_future(pump(client, upstream))
    down = asyncio.ensure_future(pump(upstream, client))
    try:
        await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (up, down):
            task.cancel()
        # whichever side ended, the other hears its close code; a records node that vanished is a restart
        if down.done():
            code = _sendable(upstream.close_code, aiohttp.WSCloseCode.SERVICE_RESTART)
        else:
            code = _sendable(client.close_code, aiohttp.WSCloseCode.OK)
        with contextlib.suppress(Exception):
            await upstream.close(code=code)
        with contextlib.suppress(Exception):
            await client.close(code=code)
    return client


def _sendable(code: int | None, otherwise: int) -> int:
    """A close code that may go on the wire (1005, 1006 and 1015 only describe a close, RFC 6455 §7.4.1)."""
    return otherwise if code is None or code in (1005, 1006, 1015) else code


async def _session(app: web.Application) -> AsyncIterator[None]:
    # never a cookie jar: one jar here would hand one person's session to the next
    app[SESSION] = aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S))
    yield
    await app[SESSION].close()


def setup(app: web.Application, directory: RoomDirectory) -> None:
    """Serve /portal and /rx (and `/`) from the records node on this rooms-only node."""
    app[RECORDS] = RecordsNode(directory)
    app.cleanup_ctx.append(_session)
    for prefix in ("/portal", "/rx"):
        app.router.add_route("*", prefix, relay)
        app.router.add_route("*", prefix + "/{tail:.*}", relay)
    app.router.add_get("/", relay)
