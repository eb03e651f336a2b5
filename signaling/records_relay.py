"""Every node serves the portal and Rx: a rooms-only node relays their requests to the records node
(multi-node, docs/scale.md "Records").

The records (one SQLite file) and what lives beside them — the queues' live versions, OTPs, the portal's
rate-limit counters — stay on one node, so nothing about them needs sharing: a patient queued through node A
and a doctor admitting on node B both reach the records node, which orders every change. A load balancer
may then send any request to any node. The relay finds the records node in the room directory (the live
node holding the records role), forwards the request as it came, with the client's address signed in
`X-Vaidya-Relayed-For` (client_address.py), and streams the reply back byte for byte (compressed bodies
stay compressed, cookies pass untouched and are never kept here). The queue's WebSocket is relayed frame
by frame. Photo uploads into rooms are relayed too: the records node keeps a consultation's photos, and an
upload resumed through another node finds there the bytes sent so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from . import keys
from .client_address import RELAYED_FOR, client_address, relayed_for
from .directory import RoomDirectory
from .origin import require_allowed_origin
from .records_locator import RecordsLocator

log = logging.getLogger(__name__)

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), and the client-address headers
#: this node replaces with its own signed one.
_NOT_FORWARDED = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade", "expect", "forwarded", "x-forwarded-for", RELAYED_FOR.lower(),
})
#: What a WebSocket handshake carries on to the records node (the rest is the handshake's own).
_WS_FORWARDED = ("Cookie", "Origin", "User-Agent", "Accept-Language", "Host")
#: A records node that cannot be connected to within this is reported unavailable; one whose reply stalls
#: for READ_TIMEOUT_S breaks the reply off.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0

SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("records_relay_session")


class RecordsNode(RecordsLocator):
    """The records node's base URL for a relayed request: HTTP 503 when no live node keeps the records."""

    async def base_or_503(self) -> str:
        base = await self.base()
        if base is None:
            raise _unavailable("no node keeps the records right now")
        return base


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
    base = await records.base_or_503()
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
    """Serve /portal and /rx (and `/`) from the records node on this rooms-only node, and take photos into
    rooms there too: the records node keeps them with the consultation, and an upload resumed through
    another node finds its bytes so far."""
    app[RECORDS] = RecordsNode(directory)
    app.cleanup_ctx.append(_session)
    for prefix in ("/portal", "/rx", "/room/{name}/photos"):
        app.router.add_route("*", prefix, relay)
        app.router.add_route("*", prefix + "/{tail:.*}", relay)
    app.router.add_get("/", relay)
