"""Patient pages: mobile number → OTP → registration → token → queue → "Call now"; uploads; language."""

from __future__ import annotations

import sqlite3

from aiohttp import web

from . import keys

from . import storage as st
from .auth import client_address, log_in, log_out, patient_mobile
from .context import PORTAL
from .errors import Invalid, NotFoundError, PortalError, TooMany, Unavailable
from .i18n import N_, Language
from .queue import QueueState, owned_patient, owned_token
from .registration import parse_patient_form, register_patient
from .render import field_errors, lang, message, page, see_other
from .validate import field_id, local_redirect, parse_id, route_id
from .validate import patient_id as valid_patient_id

STATUS_TEXT = {
    "booked": N_("Your token is ready. Join the queue when you can talk to the doctor."),
    "called": N_("The doctor is ready for you. Press Call now."),
    "in_consult": N_("You are with the doctor."),
    "done": N_("Your consultation is over."),
    "expired": N_("This token has ended."),
    "cancelled": N_("This token was cancelled."),
}

def describe(state: QueueState, language: Language) -> dict[str, object]:
    """The queue state in words, for the page and for the live WebSocket updates."""
    _ = language.gettext
    status = state.token.status.value
    if status == "waiting":
        if state.position == 1:
            text = _("You are next.")
        else:
            text = _("You are number %(n)s in the queue.") % {"n": language.number(state.position or 0)}
        wait = _("Waiting time: %(time)s") % {"time": language.minutes(state.eta_s or 0)}
    else:
        text, wait = _(STATUS_TEXT[status]), ""
    busy = _("The doctor is with another patient.") if state.doctor_busy else ""
    missed = ""
    if state.token.missed_count and status == "waiting":
        missed = _("You missed the call, so you are back in the queue. If you miss it again, the token ends.")
    return {**state.public(), "text": text, "wait_text": wait, "busy_text": busy,
            "missed_text": missed}


async def start(request: web.Request) -> web.StreamResponse:
    session = request.get(keys.SESSION)
    if session is not None and session.kind == "patient":
        return see_other("/portal/me")
    return page(request, "start.html")


async def send_otp(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    portal = request.app[PORTAL]
    try:
        mobile = await portal.accounts.send_otp(str(form.get("mobile", "")), client_address(request), lang(request).code,
                                                request[keys.BROWSER_ID])
    except Invalid as exc:
        return page(request, "start.html", status=400, errors=field_errors(request, exc), mobile=form.get("mobile"))
    except (TooMany, Unavailable) as exc:
        return page(request, "start.html", status=exc.status, error=message(request, exc), mobile=form.get("mobile"))
    return page(request, "otp.html", mobile=mobile)


async def verify_otp(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    portal = request.app[PORTAL]
    raw_mobile = str(form.get("mobile", ""))
    try:
        mobile = await portal.accounts.verify_otp(raw_mobile, str(form.get("code", "")), request[keys.BROWSER_ID])
    except Invalid as exc:
        return page(request, "otp.html", status=400, errors=field_errors(request, exc), mobile=raw_mobile)
    except TooMany as exc:
        return page(request, "otp.html", status=429, error=message(request, exc), mobile=raw_mobile)
    return await log_in(request, "patient", mobile, "/portal/me")


async def otp_link(request: web.Request) -> web.StreamResponse:
    """The login link in an OTP SMS: a page with one button, so an SMS app's link preview logs nobody in."""
    secret = request.query.get("k", "")
    mobile = await request.app[PORTAL].accounts.otp_link_holder(route_id(request.match_info["code_id"]), secret)
    return page(request, "otp_link.html", ending=mobile[-4:], secret=secret)


async def redeem_otp_link(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    mobile = await request.app[PORTAL].accounts.redeem_otp_link(route_id(request.match_info["code_id"]),
                                                                str(form.get("k", "")))
    return await log_in(request, "patient", mobile, "/portal/me")


async def me(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]

    def read(conn: sqlite3.Connection) -> tuple[list, list, dict]:
        patients = st.patients_for_mobile(conn, mobile)
        tokens = st.tokens_for_patients(conn, [p.id for p in patients])
        opds = {o.id: o for o in st.list_opds(conn)}
        for p in patients:
            st.audit(conn, f"mobile:{mobile}", "view", f"patient:{p.id}", client_address(request))
        return patients, tokens, opds

    patients, tokens, opds = await portal.db.run(read)
    return page(request, "me.html", patients=patients, tokens=tokens, opds=opds, mobile=mobile,
                names={p.id: p.name for p in patients})


async def record(request: web.Request) -> web.StreamResponse:
    """One patient's tokens with their status and ended consultations, each with a follow-up button."""
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    patient_id = valid_patient_id(request.match_info["patient_id"])

    def read(conn: sqlite3.Connection) -> dict[str, object]:
        patient = owned_patient(conn, patient_id, mobile)
        st.audit(conn, f"mobile:{mobile}", "view", f"patient:{patient.id}", client_address(request))
        consultations = [c for c in st.consultations_of_patient(conn, patient.id) if c.status.value == "ended"]
        return {"patient": patient, "tokens": st.tokens_for_patients(conn, [patient.id]),
                "consultations": consultations, "opds": {o.id: o for o in st.list_opds(conn)},
                "doctors": {d.id: d for d in st.list_doctors(conn)}}

    found = await portal.db.run(read)
    return page(request, "record.html", back=("/portal/me", lang(request).gettext("Your family")), **found)


async def register_form(request: web.Request) -> web.StreamResponse:
    patient_mobile(request)
    return page(request, "register.html", values={"language": lang(request).code})


async def register(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        patient = await register_patient(request.app[PORTAL].db, mobile, parse_patient_form(values))
    except Invalid as exc:
        return page(request, "register.html", status=400, errors=field_errors(request, exc), values=values)
    return page(request, "registered.html", patient=patient)


async def book_form(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    patient_id = valid_patient_id(request.match_info["patient_id"])

    def read(conn: sqlite3.Connection) -> tuple:
        return owned_patient(conn, patient_id, mobile), [o for o in st.list_opds(conn) if not o.is_hub]

    patient, opds = await portal.db.run(read)
    return page(request, "book.html", patient=patient, opds=opds, values={"language": patient.language})


async def book(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    patient_id = valid_patient_id(request.match_info["patient_id"])
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        opd_id = field_id(values.get("opd"), "opd", N_("Choose an OPD."))
        doctor = parse_id(values.get("doctor"))  # no (or no valid) choice: any doctor of the OPD
        token = await portal.queues.book(mobile, patient_id, opd_id, values.get("language", ""),
                                         values.get("follow_up") in ("yes", "on"), doctor)
    except (Invalid, PortalError) as exc:
        if isinstance(exc, NotFoundError) or exc.status == 403:
            raise
        patient, opds = await portal.db.run(
            lambda conn: (owned_patient(conn, patient_id, mobile), [o for o in st.list_opds(conn) if not o.is_hub]))
        errors = field_errors(request, exc) if isinstance(exc, Invalid) else {}
        return page(request, "book.html", status=exc.status, patient=patient, opds=opds, values=values,
                    errors=errors, error="" if errors else message(request, exc))
    return see_other(f"/portal/tokens/{token.id}")


def _token_id(request: web.Request) -> int:
    return route_id(request.match_info["token_id"])


async def token_page(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    token_id = _token_id(request)
    state = await portal.queues.state(token_id, mobile)

    def read(conn: sqlite3.Connection) -> tuple:
        patient = st.get_patient(conn, state.token.patient_id)
        uploads = [u for u in st.uploads_of_patient(conn, patient.id) if u.token_id == token_id]
        return patient, uploads

    patient, uploads = await portal.db.run(read)
    return page(request, "token.html", state=state, info=describe(state, lang(request)), patient=patient,
                uploads=uploads)


async def join(request: web.Request) -> web.StreamResponse:
    token = await request.app[PORTAL].queues.join(patient_mobile(request), _token_id(request))
    return see_other(f"/portal/tokens/{token.id}")


async def call(request: web.Request) -> web.StreamResponse:
    """ "Call now": record that the patient answered and go to the room page with a room token."""
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    token_id = _token_id(request)
    await portal.db.run(lambda conn: owned_token(conn, token_id, mobile))
    return see_other(await portal.consults.answer(token_id))


async def upload(request: web.Request) -> web.StreamResponse:
    mobile = patient_mobile(request)
    portal = request.app[PORTAL]
    token_id = _token_id(request)
    token = await portal.db.run(lambda conn: owned_token(conn, token_id, mobile))
    form = await request.post()
    field = form.get("file")
    if not isinstance(field, web.FileField):
        raise Invalid({"file": N_("Choose a file.")})
    await portal.uploads.save(token.patient_id, token.id, field.filename, field.file.read(), f"mobile:{mobile}")
    return see_other(f"/portal/tokens/{token.id}")


async def token_link(request: web.Request) -> web.StreamResponse:
    """The link in the token SMS: logs the patient in without typing the token or an OTP."""
    token_id = _token_id(request)
    mobile = await request.app[PORTAL].queues.login_by_link(token_id, request.query.get("k", ""))
    return await log_in(request, "patient", mobile, f"/portal/tokens/{token_id}")


async def choose_language(request: web.Request) -> web.StreamResponse:
    from .i18n import LANGUAGES
    from .middlewares import LANG_COOKIE, YEAR_S

    code = request.query.get("l", "")
    target = local_redirect(request.query.get("next"), "/portal/")
    response = see_other(target)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=YEAR_S, samesite="Lax", path="/", httponly=True)
    return response


async def choose_text_size(request: web.Request) -> web.StreamResponse:
    """Larger text for those who need it (the elderly, low vision), remembered on this device."""
    from .middlewares import TEXT_COOKIE, YEAR_S
    from .render import TEXT_SIZES

    size = request.query.get("s", "")
    response = see_other(local_redirect(request.query.get("next"), "/portal/"))
    if size in TEXT_SIZES:
        response.set_cookie(TEXT_COOKIE, size, max_age=YEAR_S, samesite="Lax", path="/", httponly=True)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    return await log_out(request, "/portal/")


async def dev_inbox(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL]
    sent = getattr(portal.sms, "sent", None)
    if not portal.config.dev or sent is None:
        raise NotFoundError("not_found", N_("This page does not exist."))
    return page(request, "dev_sms.html", messages=list(reversed(sent)))
