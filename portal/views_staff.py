"""Staff pages: login, the doctor's dashboard (queues, several rooms at once), patient summaries, uploads,
and the health worker's hub-and-spoke referrals."""

from __future__ import annotations

import sqlite3

from aiohttp import web

from . import keys

from . import storage as st
from .accounts import normalize_mobile
from .auth import client_address, doctor_id, health_worker_id, log_in, log_out
from .consults import own_consultation
from .context import PORTAL
from .dashboard import doctor_dashboard, doctor_may_see, hw_referrals, patient_summary
from .errors import Forbidden, Invalid, LoginRequired, NotFoundError, PortalError, TooMany
from .i18n import N_
from .models import ConsultMode
from .referrals import parse_consent
from .registration import parse_patient_form
from .render import field_errors, message, page, see_other
from .room_records import RoomRecord, room_record
from .validate import enum_value, field_id, patient_id, route_id


def _int(request: web.Request, name: str) -> int:
    return route_id(request.match_info[name])


async def login_form(request: web.Request) -> web.StreamResponse:
    return page(request, "staff_login.html")


async def login(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL]
    form = await request.post()
    username = str(form.get("username", ""))
    if not portal.limits.login.allow(client_address(request)):
        raise TooMany("rate_limited", N_("Too many requests. Please wait a minute."))
    try:
        kind, staff_id = await portal.accounts.staff_login(username, str(form.get("password", "")))
    except Forbidden as exc:
        return page(request, "staff_login.html", status=403, error=message(request, exc), username=username)
    home = {"doctor": "/portal/doctor", "pharmacist": "/rx/verify"}.get(kind, "/portal/hw")
    return await log_in(request, kind, str(staff_id), home)


async def logout(request: web.Request) -> web.StreamResponse:
    return await log_out(request, "/portal/staff/login")


# ---- doctor ----


async def doctor_home(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    board = await request.app[PORTAL].db.run(lambda conn: doctor_dashboard(conn, me))
    return page(request, "doctor.html", board=board, modes=[m.value for m in ConsultMode])


async def admit(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    form = await request.post()
    opd_id = field_id(form.get("opd"), "opd", N_("Choose an OPD."))
    token_id = field_id(form.get("token"), "token") if form.get("token") else None
    mode = enum_value(ConsultMode, form.get("mode") or "video", "mode", N_("Choose video, audio or text."))
    await request.app[PORTAL].consults.admit(me, opd_id, token_id, mode)
    return see_other("/portal/doctor")


async def consultation_action(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    consults = request.app[PORTAL].consults
    cid = _int(request, "consultation_id")
    action = request.match_info["action"]
    if action == "room":
        return see_other(await consults.doctor_link(me, cid))
    if action in ("hold", "resume"):
        await consults.set_held(me, cid, action == "hold")
    elif action == "end":
        await consults.end(me, cid)
    elif action == "missed":
        await consults.missed(me, cid)
    else:
        raise NotFoundError("not_found", N_("This page does not exist."))
    return see_other("/portal/doctor")


async def consultation_page(request: web.Request) -> web.StreamResponse:
    """One consultation's summary for its doctor: who, when, the room's chat and the photos sent in it."""
    me = doctor_id(request)
    cid = _int(request, "consultation_id")

    def read(conn: sqlite3.Connection) -> tuple[st.Consultation, st.Patient, RoomRecord]:
        c = own_consultation(conn, me, cid)
        st.audit(conn, f"doctor:{me}", "view", f"consultation:{c.id}", client_address(request))
        return c, st.get_patient(conn, c.patient_id), room_record(conn, c.id)

    consultation, patient, record = await request.app[PORTAL].db.run(read)
    return page(request, "consultation.html", c=consultation, patient=patient, record=record)


async def patient_page(request: web.Request) -> web.StreamResponse:
    me = doctor_id(request)
    pid = patient_id(request.match_info["patient_id"])
    summary = await request.app[PORTAL].db.run(lambda conn: patient_summary(conn, me, pid, client_address(request)))
    return page(request, "patient.html", summary=summary)


async def download_upload(request: web.Request) -> web.StreamResponse:
    """An uploaded report, for its patient's own number or a doctor of the patient's OPDs (audited)."""
    portal = request.app[PORTAL]
    upload_id = _int(request, "upload_id")
    session = request.get(keys.SESSION)
    if session is None:
        raise LoginRequired("/portal/")

    def check(conn: sqlite3.Connection) -> st.Upload:
        try:
            up = st.get_upload(conn, upload_id)
        except st.NotFound:
            raise NotFoundError("no_upload", N_("This page does not exist.")) from None
        if session.kind == "patient":
            allowed = st.get_patient(conn, up.patient_id).mobile == session.subject
        elif session.kind == "doctor":
            allowed = doctor_may_see(conn, int(session.subject), up.patient_id)
        else:
            allowed = False
        if not allowed:
            raise Forbidden("not_yours", N_("This record belongs to someone else."))
        st.audit(conn, session.identity, "download", f"upload:{up.id}", client_address(request))
        return up

    up = await portal.db.run(check)
    return web.FileResponse(portal.uploads.path_of(up), headers={
        "Content-Type": up.content_type,
        "Content-Disposition": "attachment; filename=\"report-%d\"" % up.id,
    })


# ---- health worker (spoke) ----


async def hw_home(request: web.Request, status: int = 200, **extra: object) -> web.StreamResponse:
    me = health_worker_id(request)
    hw, referrals, hubs = await request.app[PORTAL].db.run(lambda conn: hw_referrals(conn, me))
    return page(request, "hw.html", status=status, hw=hw, referrals=referrals, hubs=hubs, **extra)


async def refer(request: web.Request) -> web.StreamResponse:
    me = health_worker_id(request)
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    portal = request.app[PORTAL]
    try:
        consent = parse_consent(values)
        new_patient = None
        if not values.get("patient_id"):
            new_patient = (normalize_mobile(values.get("mobile", "")), parse_patient_form(values))
        opd_id = field_id(values.get("opd"), "opd", N_("Choose a hospital (hub) OPD."))
        await portal.referrals.refer(
            me, opd_id, consent, values.get("language", ""),
            patient_id=values.get("patient_id") or None, new_patient=new_patient,
        )
    except (Invalid, PortalError) as exc:
        if not isinstance(exc, Invalid):
            raise
        return await hw_home(request, status=400, errors=field_errors(request, exc), values=values)
    return see_other("/portal/hw")


async def hw_room(request: web.Request) -> web.StreamResponse:
    me = health_worker_id(request)
    links = await request.app[PORTAL].referrals.room_links(me, _int(request, "token_id"))
    return see_other(links["health_worker"])
