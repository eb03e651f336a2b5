"""The doctor's consult workspace page: the call, the patient's summary, the prescription form and the other
open consultations on one page (portal/static/workspace.js runs it; docs/portal.md describes it)."""

from __future__ import annotations

from aiohttp import web

from .auth import client_address, doctor_id
from .context import PORTAL
from .render import page
from .validate import route_id
from .workspace import consult_workspace


async def workspace_page(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    cid = route_id(request.match_info["consultation_id"])
    ws = await request.app[PORTAL].db.run(lambda conn: consult_workspace(conn, me, cid, client_address(request)))
    response = page(request, "workspace.html", ws=ws)
    response.headers["Cache-Control"] = "no-store"  # a patient record: not kept by the browser or a proxy
    return response
