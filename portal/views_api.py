"""JSON endpoints behind the pages, and the live queue WebSocket (documented in docs/api.md)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from aiohttp import WSMsgType, web

from signaling.origin import require_allowed_origin

from . import storage as st
from .auth import client_address, doctor_id, health_worker_id, patient_mobile
from .context import PORTAL
from .dashboard import doctor_dashboard
from .errors import NotFoundError, PortalError
from .i18n import N_
from .models import ConsultMode
from .queue import owned_token
from .render import lang, message
from .validate import enum_value, field_id, json_object, route_id
from .views_patient import describe

#: Even with no change, the live page gets a fresh state this often (the ETA moves).
WS_REFRESH_S = 20.0


async def opds(request: web.Request) -> web.StreamResponse:
    items = await request.app[PORTAL].db.run(st.list_opds)
    return web.json_response({"opds": [o.public() for o in items]})


async def me(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)

    def read(conn: sqlite3.Connection) -> dict[str, object]:
        patients = st.patients_for_mobile(conn, mobile)
        tokens = st.tokens_for_patients(conn, [p.id for p in patients])
        for p in patients:
            st.audit(conn, f"mobile:{mobile}", "view", f"patient:{p.id}", client_address(request))
        return {"mobile": mobile, "patients": [p.public() for p in patients], "tokens": [t.public() for t in tokens]}

    return web.json_response(await request.app[PORTAL].db.run(read))


async def token_state(request: web.Request) -> web.StreamResponse:
    state = await request.app[PORTAL].queues.state(route_id(request.match_info["token_id"]),
                                                     patient_mobile(request))
    return web.json_response(describe(state, lang(request)))


async def join(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL]
    token = await portal.queues.join(patient_mobile(request), route_id(request.match_info["token_id"]))
    return web.json_response(describe(await portal.queues.state(token.id), lang(request)))


async def call(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    token_id = route_id(request.match_info["token_id"])
    await portal.db.run(lambda conn: owned_token(conn, token_id, mobile))
    return web.json_response({"room_url": await portal.consults.answer(token_id)})


async def queue_ws(request: web.Request) -> web.StreamResponse:
    """Pushes the token's queue state whenever its OPD's queue changes (and every WS_REFRESH_S)."""
    require_allowed_origin(request)
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    token_id = field_id(request.query.get("token"), "token")
    state = await portal.queues.state(token_id, mobile)  # refuses another number's token before upgrading
    language = lang(request)
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1024)
    await ws.prepare(request)
    portal.sockets.add(ws)
    reader = asyncio.create_task(_drain(ws))
    try:
        seen = portal.events.version(state.opd.id)
        shown = describe(state, language)
        await ws.send_json(shown)
        while not ws.closed:
            waiter = asyncio.ensure_future(portal.events.wait(state.opd.id, seen, WS_REFRESH_S))
            await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader.done():
                waiter.cancel()
                break
            seen = waiter.result()
            try:
                state = await portal.queues.state(token_id)
            except PortalError as exc:
                await ws.send_json({"error": exc.code, "message": message(request, exc)})
                break
            fresh = describe(state, language)
            if fresh != shown:  # on a 2G link every byte counts: send changes only
                shown = fresh
                await ws.send_json(shown)
    except (ConnectionResetError, RuntimeError):
        pass  # the client went away mid-send
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        portal.sockets.discard(ws)
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, so close frames and pings are handled."""
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


async def doctor_board(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    board = await request.app[PORTAL].db.run(lambda conn: doctor_dashboard(conn, me))
    return web.json_response(board.public())


async def doctor_admit(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    body = json_object(await request.read())
    mode = enum_value(ConsultMode, body.get("mode") or "video", "mode", N_("Choose video, audio or text."))
    token = body.get("token")
    portal = request.app[PORTAL]
    c = await portal.consults.admit(me, field_id(body.get("opd"), "opd"),
                                    field_id(token, "token") if token is not None else None, mode)
    return web.json_response({"consultation": c.public(), "room_url": await portal.consults.doctor_link(me, c.id)})


async def doctor_action(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    consults = request.app[PORTAL].consults
    cid = route_id(request.match_info["consultation_id"])
    action = request.match_info["action"]
    if action in ("hold", "resume"):
        c = await consults.set_held(me, cid, action == "hold")
    elif action == "end":
        c = await consults.end(me, cid)
    elif action == "missed":
        token = await consults.missed(me, cid)
        return web.json_response({"token": token.public()})
    else:
        raise NotFoundError("not_found", N_("This page does not exist."))
    return web.json_response({"consultation": c.public()})


async def doctor_room(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    cid = route_id(request.match_info["consultation_id"])
    return web.json_response({"room_url": await request.app[PORTAL].consults.doctor_link(me, cid)})


async def hw_room(request: web.Request) -> web.StreamResponse:
    me = health_worker_id(request)
    links = await request.app[PORTAL].referrals.room_links(me, route_id(request.match_info["token_id"]))
    return web.json_response({"room_url": links["health_worker"], "patient_room_url": links["patient"]})


async def dev_sms(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL]
    sent = getattr(portal.sms, "sent", None)
    if not portal.config.dev or sent is None:
        raise NotFoundError("not_found", N_("This page does not exist."))
    return web.json_response({"messages": [{"to": m.to, "body": m.body, "at": m.at} for m in sent]})
