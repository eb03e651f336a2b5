"""Rx over HTTP, mounted at /rx: verification page, PDF and FHIR downloads, lists, the doctor's API.

The only rx module that imports aiohttp. The /rx sub-application runs the portal's middlewares, so
sessions, CSRF and rate limits are the portal's own. Views parse, authorise, call RxService (blocking
work in a thread), and reply.

Access: the verification page is public (it shows what the printed QR already proves). A PDF, a FHIR
bundle or a list is served to the patient it belongs to (any patient on the logged-in mobile number)
and to the doctor who issued it; anyone else gets 404, as if it did not exist.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from aiohttp import web

from portal.frame import (
    PATIENT_LOGIN,
    PORTAL,
    STAFF_LOGIN,
    LoginRequired,
    NotFoundError,
    Portal,
    PortalError,
    SmsError,
    csrf_token,
    frame,
    frame_app,
    json_error,
    json_object,
    parse_id,
    pharmacist_id,
    route_id,
)
from portal.frame import keys as portal_keys
from signaling.assets import StaticFiles
from signaling.config import Config, ensure_secret

from . import labels
from .dispensing import dispensed_json, fills, quantities_from_form
from .dosage import ROUTES
from .fhir import medication_status, op_consult_bundle, prescription_bundle
from .intake import (
    FORM_ROWS,
    InputError,
    body_from_form,
    build_prescription,
    clinical_changes,
    form_from_prescription,
)
from .followup import FOLLOW_UP_WINDOW_MONTHS, why_allowed
from .localtime import local_date, local_date_text
from .model import LANGUAGES, EarlierConsult, Prescription, Signed, new_prescription_id, normalise_prescription_id
from . import pages
from .pages import render
from .pdf import render_pdf
from .portal_link import (
    brought_by_health_worker,
    IssueContext,
    NotAFollowUp,
    NotYours,
    earlier_consultation,
    follow_up_candidates,
    issue_context,
    patient_ids_for_mobile,
    pharmacist_snapshot,
)
from .qr import SignedLine, lines_of, looks_like_code, payload_for, qr_png, verification_url
from .rules import Problem, RuleViolation, describe_allowed, effective_list
from .suggest import MAX_TYPED, suggestions
from .service import NotAllowed, RxService, utc_now
from .signature_image import MAX_BYTES as MAX_SIGNATURE_UPLOAD
from .signature_image import SignatureImageError, check_signature_image
from .store import Revocation, Store, StoreError
from .verify import SIGNED_LINES_HEADING, Status, Verdict, verify_id, verify_online

log = logging.getLogger(__name__)

RX_SERVICE = web.AppKey("rx_service", RxService)
PDF_CACHE: web.AppKey["PdfCache"] = web.AppKey("rx_pdf_cache")
STATIC_DIR = Path(__file__).parent / "static"
_ID = r"{rx_id:[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}}"


def setup(app: web.Application, config: Config) -> RxService:
    """Mount /rx on the main application; needs the portal mounted first (its sessions and records)."""
    service = RxService.open(config.data_dir, ensure_secret(config), config.zone)
    app[RX_SERVICE] = service
    sub = frame_app(app[PORTAL])
    sub[RX_SERVICE] = service
    sub[PDF_CACHE] = PdfCache()
    r = sub.router
    r.add_get("/verify", verify_page)
    r.add_post("/verify/dispense", dispense)
    r.add_get("/mine", my_prescriptions)
    r.add_post("/signature-image", upload_signature_image)
    r.add_get(f"/{_ID}.pdf", download_pdf)
    r.add_get(f"/{_ID}/qr", qr_page)
    r.add_get(f"/{_ID}/qr.png", qr_image)
    r.add_get(f"/{_ID}/fhir", download_fhir)
    r.add_get("/consultations/{consultation_id:[0-9]+}/new", issue_form)
    r.add_post("/consultations/{consultation_id:[0-9]+}/new", issue_from_form)
    r.add_post("/api/consultations/{consultation_id:[0-9]+}/prescriptions", issue)
    r.add_get("/api/consultations/{consultation_id:[0-9]+}/prescriptions", patient_history)
    r.add_get("/api/consultations/{consultation_id:[0-9]+}/formulary", formulary_suggestions)
    r.add_post(f"/{_ID}/revoke", revoke_from_form)
    r.add_get(f"/{_ID}/correct", correct_form)
    r.add_post(f"/{_ID}/correct", correct_from_form)
    r.add_post(f"/api/prescriptions/{_ID}/correct", correct)
    r.add_post(f"/api/prescriptions/{_ID}/revoke", revoke)
    static = StaticFiles(STATIC_DIR, mount="/static", public="/rx/static")
    static.add_routes(sub)
    pages.use_static_urls(static.url)
    app.add_subapp("/rx", sub)
    return service


def _service(request: web.Request) -> RxService:
    return request.app[RX_SERVICE]


def _portal(request: web.Request) -> Portal:
    return request.app[PORTAL]


def _wants_json(request: web.Request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _zone(request: web.Request) -> tzinfo:
    return _portal(request).config.zone


def _csrf(request: web.Request) -> str:
    return csrf_token(_portal(request).secret, request[portal_keys.BROWSER_ID])


# Verification (public) ---------------------------------------------------------------------------------
def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    rx = verdict.prescription
    return {
        "status": verdict.status.value, "reason": verdict.reason, "id": verdict.rx_id, "version": verdict.version,
        "latest_version": verdict.latest_version, "doctor": verdict.doctor_name,
        "registration_number": verdict.registration_number, "council": verdict.council,
        "medicines": [dataclasses.asdict(m) for m in rx.medicines] if rx else [],
        "signed_medicines": [dataclasses.asdict(line) for line in _signed_lines(verdict)],
    }


def _signed_lines(verdict: Verdict) -> tuple[SignedLine, ...]:
    """The lines the doctor's signature covers: from the code itself, or (a typed ID) from the record;
    none when the verdict is invalid (a good signature over content not on record proves nothing here)."""
    if verdict.status is Status.INVALID:
        return ()
    if verdict.signed_lines or verdict.prescription is None:
        return verdict.signed_lines
    return lines_of(verdict.prescription)


def _check(text: str, version: int | None, service: RxService) -> Verdict:
    if looks_like_code(text):
        return verify_online(text, service.store)
    return verify_id(normalise_prescription_id(text), version, service.store)


async def verify_page(request: web.Request) -> web.StreamResponse:
    text = (request.query.get("c") or request.query.get("id") or "").strip()
    version = parse_id(request.query.get("v"))
    verdict = dispensations = line_fills = None
    if text:
        try:
            verdict = await asyncio.to_thread(_check, text, version, _service(request))
        except ValueError as exc:
            verdict = Verdict(status=Status.INVALID, reason=str(exc))
        if verdict.rx_id:
            store = _service(request).store
            dispensations = await asyncio.to_thread(store.dispensations, verdict.rx_id)
            if verdict.prescription is not None:
                line_fills = fills(verdict.prescription, await asyncio.to_thread(store.dispensed_totals, verdict.rx_id))
    if _wants_json(request):
        if verdict is None:
            return web.json_response({"error": "missing", "message": "give ?c=<code> or ?id=<prescription id>"},
                                     status=400)
        return web.json_response({**_verdict_json(verdict), "dispensed": dispensed_json(dispensations or [])})
    typed = request.query.get("id", verdict.rx_id if verdict else "")
    session = request.get(portal_keys.SESSION)
    html = render("verify.html", verdict=verdict, typed=typed, dispensations=dispensations, fills=line_fills,
                  pharmacist=session is not None and session.kind == "pharmacist", login=STAFF_LOGIN,
                  csrf=_csrf(request), lines=_signed_lines(verdict) if verdict else (),
                  heading=SIGNED_LINES_HEADING, zone=_zone(request))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def dispense(request: web.Request) -> web.StreamResponse:
    """A registered pharmacist (logged in) records the quantity given per line; anyone else is sent to log in."""
    me = pharmacist_id(request)
    form = await request.post()
    version = parse_id(form.get("version"))
    service = _service(request)
    try:
        rx_id = normalise_prescription_id(str(form.get("id", "")))
    except ValueError:
        version = None
    signed = None if version is None else await asyncio.to_thread(service.store.version, rx_id, version)
    if signed is None:
        raise NotFoundError("rx_not_found", "No such prescription.")
    try:
        lines = quantities_from_form(form, len(signed.prescription.medicines))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    try:
        chemist = await _portal(request).db.run(lambda conn: pharmacist_snapshot(conn, me))
    except LookupError:  # the account was removed or deactivated since logging in
        raise LoginRequired(STAFF_LOGIN) from None
    try:
        await asyncio.to_thread(service.dispense, rx_id, version, chemist, lines, str(form.get("note", ""))[:500])
    except StoreError as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
    raise web.HTTPSeeOther(f"/rx/verify?id={rx_id}&v={version}")


# Patient and doctor: lists and downloads ------------------------------------------------------------------
async def _readable_ids(request: web.Request) -> tuple[str, frozenset[str], frozenset[str]]:
    """Who may read what: ('patient', the patient IDs on this mobile), ('doctor', {doctor id}) or
    ('health_worker', the consultations they brought a patient to), each with the IDs the store lists
    prescriptions by (the health worker's: those patients); else a login is required."""
    session = request.get(portal_keys.SESSION)
    if session is None:
        raise LoginRequired(PATIENT_LOGIN)
    if session.kind == "doctor":
        doctor = frozenset({session.subject})
        return "doctor", doctor, doctor
    if session.kind == "patient":
        mobile = session.subject
        patients = await _portal(request).db.run(lambda conn: patient_ids_for_mobile(conn, mobile))
        return "patient", patients, patients
    if session.kind == "health_worker":
        hw = int(session.subject)
        patients, consultations = await _portal(request).db.run(lambda conn: brought_by_health_worker(conn, hw))
        return "health_worker", consultations, patients
    return "other", frozenset(), frozenset()


def _owner(kind: str, signed: Signed) -> str:
    """What `_readable_ids` lists for this visitor kind, read off the prescription."""
    rx = signed.prescription
    return {"patient": rx.patient.id, "health_worker": rx.consultation.id}.get(kind, rx.doctor.id)


async def _readable(request: web.Request) -> Signed:
    """The requested version, if this visitor may read it; 404 otherwise (existence is not revealed)."""
    kind, ids, _ = await _readable_ids(request)
    rx_id = request.match_info["rx_id"]
    v = parse_id(request.query.get("v"))
    store = _service(request).store
    if v is not None:
        signed = await asyncio.to_thread(store.version, rx_id, v)
    else:
        signed = await asyncio.to_thread(store.latest, rx_id)
    if signed is None or _owner(kind, signed) not in ids:
        raise NotFoundError("rx_not_found", "No such prescription.")
    return signed


class PdfCache:
    """The last few rendered PDFs. Signed versions never change, so a PDF never goes stale."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: collections.OrderedDict[tuple[str, int], bytes] = collections.OrderedDict()

    async def get(self, signed: Signed, base_url: str, zone: tzinfo, store: Store) -> bytes:
        key = (signed.prescription.id, signed.prescription.version)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        rx = signed.prescription

        def render_with_signature() -> bytes:
            image = store.signature_image(rx.doctor.id, signed.signed_at)
            return render_pdf(signed, base_url, zone=zone, signature_image=image)

        pdf = await asyncio.to_thread(render_with_signature)
        self._items[key] = pdf
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return pdf


async def _pdf(request: web.Request, signed: Signed) -> bytes:
    return await request.app[PDF_CACHE].get(signed, _portal(request).config.base_url, _zone(request),
                                            _service(request).store)


def _status(service: RxService, signed: Signed) -> str:
    rx = signed.prescription
    if service.store.revocation(rx.id, rx.version) is not None:
        return "revoked"
    latest = service.store.latest(rx.id)
    return "superseded" if latest and latest.prescription.version > rx.version else "current"


async def _current(request: web.Request) -> Signed:
    """The requested version if this visitor may read it and it is still the one to use; a revoked or
    superseded version is refused with a page that says so (410), never handed out as if valid."""
    signed = await _readable(request)
    status = await asyncio.to_thread(_status, _service(request), signed)
    if status == "current":
        return signed
    if _wants_json(request):
        raise web.HTTPGone(text=json.dumps({"error": f"rx_{status}", "message": labels.local(f"{status}_note", "en")}),
                           content_type="application/json")
    lang = _patient_lang(request)
    html = render("gone.html", **frame(request), signed=signed, status=status, t=lambda key: labels.both(key, lang),
                  zone=_zone(request), back=("/rx/mine", labels.local("your_prescriptions", lang)))
    raise web.HTTPGone(text=html, content_type="text/html")


def _patient_lang(request: web.Request) -> str:
    """The language the visitor chose in the portal, if the Rx labels have it; else English."""
    code = request[portal_keys.LANG].code
    return code if code in LANGUAGES else "en"


async def download_pdf(request: web.Request) -> web.StreamResponse:
    signed = await _current(request)
    pdf = await _pdf(request, signed)
    rx = signed.prescription
    return web.Response(body=pdf, content_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="prescription-{rx.id}-v{rx.version}.pdf"'})


async def qr_page(request: web.Request) -> web.StreamResponse:
    """The prescription's QR code, large, for a pharmacist to scan off the patient's phone."""
    signed = await _current(request)
    lang = _patient_lang(request)
    html = render("qr.html", **frame(request), signed=signed, t=lambda key: labels.both(key, lang),
                  zone=_zone(request), back=("/rx/mine", labels.local("your_prescriptions", lang)))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def qr_image(request: web.Request) -> web.StreamResponse:
    """The same code the PDF prints: the verification URL with the signed payload."""
    signed = await _current(request)
    url = verification_url(_portal(request).config.base_url, payload_for(signed))
    return web.Response(body=await asyncio.to_thread(qr_png, url), content_type="image/png")


async def download_fhir(request: web.Request) -> web.StreamResponse:
    signed = await _readable(request)
    service, base = _service(request), _portal(request).config.base_url
    status = await asyncio.to_thread(_status, service, signed)
    med_status = medication_status(status == "superseded", status == "revoked")
    if request.query.get("kind") == "op-consult":
        bundle = op_consult_bundle(signed, base, med_status, _zone(request))
    else:
        pdf = await _pdf(request, signed)
        bundle = prescription_bundle(signed, pdf, base, med_status, _zone(request))
    return web.json_response(bundle, content_type="application/fhir+json")


async def my_prescriptions(request: web.Request) -> web.StreamResponse:
    kind, ids, listed_by = await _readable_ids(request)
    service = _service(request)

    def collect() -> list[dict[str, Any]]:
        # a health worker's patients' prescriptions, kept to those of the consultations they brought
        found: list[Signed] = []
        for one in sorted(listed_by):
            found += service.store.latest_for(**({"doctor_id": one} if kind == "doctor" else {"patient_id": one}))
        return [{"signed": s, "status": _status(service, s)} for s in found if _owner(kind, s) in ids]

    items = await asyncio.to_thread(collect) if kind in ("doctor", "patient", "health_worker") else []
    if _wants_json(request):
        return web.json_response([{
            "id": i["signed"].prescription.id, "version": i["signed"].prescription.version,
            "issued_at": i["signed"].prescription.issued_at.isoformat(), "status": i["status"],
            "patient": i["signed"].prescription.patient.name, "doctor": i["signed"].prescription.doctor.name,
            "pdf": f"/rx/{i['signed'].prescription.id}.pdf", "fhir": f"/rx/{i['signed'].prescription.id}/fhir",
        } for i in items])
    if kind != "doctor":  # patients and health workers read it in the portal's frame, in their language
        lang = _patient_lang(request)
        back = (("/portal/hw", request[portal_keys.LANG].gettext("Today's patients")) if kind == "health_worker"
                else ("/portal/me", request[portal_keys.LANG].gettext("Your family")))
        html = render("mine.html", **frame(request), items=items, t=lambda key: labels.both(key, lang),
                      zone=_zone(request), back=back)
        return web.Response(text=html, content_type="text/html", charset="utf-8")
    html = render("list.html", items=items, doctor=True, csrf=_csrf(request), page_lang="en",
                  t=lambda key: labels.both(key, "en"), zone=_zone(request))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def upload_signature_image(request: web.Request) -> web.StreamResponse:
    """The doctor's handwritten signature image (PNG or JPEG), printed on prescriptions signed from now on."""
    doctor_id = _doctor_id(request)
    form = await request.post()
    field = form.get("image")
    content = field.file.read(MAX_SIGNATURE_UPLOAD + 1) if isinstance(field, web.FileField) else b""
    try:
        image = check_signature_image(content)
    except SignatureImageError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    await asyncio.to_thread(_service(request).store.add_signature_image, doctor_id, image, utc_now())
    raise web.HTTPSeeOther("/rx/mine")


# Doctor's API ----------------------------------------------------------------------------------------------
def _api(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """API views answer JSON whatever the Accept header says (the portal's error pages are for browsers)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PortalError as exc:
            return json_error(request, exc)

    return wrapped


def _doctor_id(request: web.Request) -> str:
    session = request.get(portal_keys.SESSION)
    if session is None or session.kind != "doctor":
        raise LoginRequired(STAFF_LOGIN)
    return session.subject


def _problem_reply(exc: Exception) -> web.Response:
    """The portal's error shape (`error`, `message`, `fields` for invalid input) plus `problems` for rules."""
    if isinstance(exc, RuleViolation):
        return web.json_response({"error": "tpg_rules", "message": exc.problems[0].message if exc.problems else "",
                                  "problems": [dataclasses.asdict(p) for p in exc.problems]}, status=422)
    if isinstance(exc, InputError):
        return web.json_response({"error": "invalid", "message": next(iter(exc.fields.values()), ""),
                                  "fields": exc.fields}, status=400)
    raise exc


async def _json_body(request: web.Request) -> dict[str, Any]:
    return json_object(await request.read())


def _issued_reply(request: web.Request, signed: Signed) -> web.Response:
    rx = signed.prescription
    base = _portal(request).config.base_url
    formulary = _service(request).formulary
    return web.json_response({
        "id": rx.id, "version": rx.version, "key_id": signed.key_id, "pdf": f"/rx/{rx.id}.pdf",
        "fhir": f"/rx/{rx.id}/fhir", "verify_url": verification_url(base, payload_for(signed)),
        "allowed": [{"medicine": m.generic_name, "list": (tag := effective_list(m, formulary)[0]).value,
                     "why": why_allowed(tag, m, rx.consultation)} for m in rx.medicines],
    }, status=201)


async def _issue_context(request: web.Request) -> IssueContext:
    doctor_id = _doctor_id(request)
    consultation_id = route_id(request.match_info["consultation_id"])
    try:
        return await _portal(request).db.run(
            lambda conn: issue_context(conn, consultation_id, int(doctor_id), local_date(utc_now(), _zone(request))))
    except (LookupError, NotYours):
        raise NotFoundError("consultation_not_found", "No such consultation.") from None


async def _linked_consultation(request: web.Request, ctx: IssueContext, body: dict[str, Any]) -> EarlierConsult | None:
    """The earlier consultation the doctor links (`follows_consultation`), checked against the portal's record."""
    value = body.get("follows_consultation")
    if value in (None, ""):
        return None
    earlier = parse_id(value)
    if earlier is None:
        raise InputError({"follows_consultation": "the number of the earlier consultation"})
    this = int(ctx.consultation.id)
    try:
        return await _portal(request).db.run(lambda conn: earlier_consultation(conn, this, earlier, _zone(request)))
    except NotAFollowUp as exc:
        raise RuleViolation([Problem("follows", "follows_consultation", str(exc))]) from None


async def _build(request: web.Request, ctx: IssueContext, body: dict[str, Any]) -> Prescription:
    """The prescription the form describes, its follow-up basis checked against the record (not yet signed)."""
    follows = await _linked_consultation(request, ctx, body)
    return build_prescription(body, new_prescription_id(), utc_now(), ctx.doctor, ctx.patient, ctx.consultation,
                              follows)


async def _as_submitted(request: web.Request, ctx: IssueContext, body: dict[str, Any]) -> IssueContext:
    """The context with the consultation as the refused form declared it (linked or in-person basis), so the
    page shows the lists open on that basis; the portal's context when the form does not get that far."""
    try:
        return dataclasses.replace(ctx, consultation=(await _build(request, ctx, body)).consultation)
    except (RuleViolation, InputError):
        return ctx


async def _sign_and_notify(request: web.Request, ctx: IssueContext, body: dict[str, Any]) -> Signed:
    """Build, check, sign and store; then SMS the patient. Raises RuleViolation or InputError."""
    rx = await _build(request, ctx, body)
    signed = await asyncio.to_thread(_service(request).issue, rx)
    await _notify_patient(request, ctx.patient_mobile, signed)
    return signed


@_api
async def issue(request: web.Request) -> web.StreamResponse:
    ctx = await _issue_context(request)
    body = await _json_body(request)
    try:
        signed = await _sign_and_notify(request, ctx, body)
    except (RuleViolation, InputError) as exc:
        return _problem_reply(exc)
    return _issued_reply(request, signed)


async def _form_page(request: web.Request, ctx: IssueContext, form: dict[str, str], problems: list[str],
                     status: int = 200, correcting: Signed | None = None, fragment: bool = False) -> web.Response:
    """The form in its page, or (`fragment`) the bare form for the consult workspace to load beside the call."""
    earlier: list[EarlierConsult] = []
    if correcting is None:  # a correction keeps the consultation as signed; a new one may link an earlier one
        cid, zone = int(ctx.consultation.id), _zone(request)
        earlier = await _portal(request).db.run(
            lambda conn: follow_up_candidates(conn, cid, local_date(utc_now(), zone), zone))
    html = render("_issue_form.html" if fragment else "issue.html", ctx=ctx, form=collections.defaultdict(str, form),
                  problems=problems, earlier=earlier, window_months=FOLLOW_UP_WINDOW_MONTHS,
                  correcting=correcting.prescription if correcting else None,
                  csrf=_csrf(request), rows=range(FORM_ROWS), routes=list(ROUTES),
                  formulary=_service(request).formulary.drugs,
                  allowed=describe_allowed(ctx.consultation), fragment=fragment,
                  action=f"/rx/consultations/{ctx.consultation.id}/new" if fragment else "")
    headers = {"Cache-Control": "no-store"} if fragment else None
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=headers)


@_api
async def formulary_suggestions(request: web.Request) -> web.StreamResponse:
    """Drugs matching `q` as the doctor types, each with whether this consultation may prescribe it."""
    ctx = await _issue_context(request)
    typed = request.query.get("q", "")
    if len(typed) > MAX_TYPED:
        return _problem_reply(InputError({"q": f"at most {MAX_TYPED} characters"}))
    return web.json_response({
        "allowed_lists": describe_allowed(ctx.consultation),
        "drugs": suggestions(_service(request).formulary, ctx.consultation, typed),
    })


async def issue_form(request: web.Request) -> web.StreamResponse:
    """The doctor's prescription form for one of their consultations (plain HTML, works without scripts);
    `?fragment=1` gives the form alone, for the consult workspace to load beside the call."""
    return await _form_page(request, await _issue_context(request), {}, [],
                            fragment=request.query.get("fragment") == "1")


async def issue_from_form(request: web.Request) -> web.StreamResponse:
    """Sign what the form says. A browser gets the list (or the form again with the problems); a script that
    asks for JSON (the consult workspace, which must not leave the call) gets the API's answers."""
    ctx = await _issue_context(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    body = body_from_form(form)
    try:
        signed = await _sign_and_notify(request, ctx, body)
    except (RuleViolation, InputError) as exc:
        if _wants_json(request):
            return _problem_reply(exc)
        if isinstance(exc, InputError):
            return await _form_page(request, ctx, form, [f"{k}: {v}" for k, v in exc.fields.items()], status=400)
        return await _form_page(request, await _as_submitted(request, ctx, body), form,
                                [p.message for p in exc.problems], status=422)
    if _wants_json(request):
        return _issued_reply(request, signed)
    raise web.HTTPSeeOther(f"/rx/mine#{signed.prescription.id}")


@_api
async def patient_history(request: web.Request) -> web.StreamResponse:
    """The patient's prescriptions (newest version of each, any doctor), for the doctor of this consultation:
    what was found and given before. The PDF is linked only where this doctor may download it (their own)."""
    ctx = await _issue_context(request)
    service, zone = _service(request), _zone(request)

    def collect() -> list[dict[str, Any]]:
        return [{
            "id": rx.id, "version": rx.version, "issued_at": rx.issued_at.isoformat(),
            "issued_on": local_date_text(rx.issued_at, zone), "doctor": rx.doctor.name,
            "chief_complaints": rx.chief_complaints, "diagnosis": rx.diagnosis, "provisional": rx.provisional,
            "medicines": [" ".join(p for p in (m.generic_name, m.strength, m.form) if p) for m in rx.medicines],
            "status": _status(service, signed),
            "pdf": f"/rx/{rx.id}.pdf" if rx.doctor.id == ctx.doctor.id else None,
        } for signed in service.store.latest_for(patient_id=ctx.patient.id) if (rx := signed.prescription)]

    return web.json_response({"prescriptions": await asyncio.to_thread(collect)})


async def _notify_patient(request: web.Request, mobile: str, signed: Signed) -> None:
    """SMS the patient that a prescription is ready; a gateway failure is logged, the prescription stands."""
    text = prescription_sms(signed, _portal(request).config.base_url, _zone(request))
    try:
        await _portal(request).sms.send(mobile, text)
    except SmsError:
        log.warning("prescription %s issued but the SMS to the patient failed", signed.prescription.id,
                    exc_info=True)


def prescription_sms(signed: Signed, base_url: str, zone: tzinfo) -> str:
    """The SMS telling the patient a prescription is ready, dated in the clinic's zone."""
    rx = signed.prescription
    lang = rx.patient.language if rx.patient.language in LANGUAGES else "en"
    return (f"Vaidya: {labels.both('title', lang)} {rx.id}, {local_date_text(rx.issued_at, zone)} — "
            f"{rx.doctor.name}. {base_url}/rx/mine")


@_api
async def correct(request: web.Request) -> web.StreamResponse:
    doctor_id = _doctor_id(request)
    body = await _json_body(request)
    try:
        changes = clinical_changes(body)
        signed = await asyncio.to_thread(_service(request).correct, request.match_info["rx_id"], doctor_id, **changes)
    except (RuleViolation, InputError) as exc:
        return _problem_reply(exc)
    except (KeyError, NotAllowed):
        raise NotFoundError("rx_not_found", "No such prescription.") from None
    except StoreError as exc:
        return web.json_response({"error": "conflict", "message": str(exc)}, status=409)
    return _issued_reply(request, signed)


async def _latest_of_doctor(request: web.Request) -> Signed:
    """The newest version of a prescription this doctor issued (404 for anyone else's)."""
    doctor_id = _doctor_id(request)
    signed = await asyncio.to_thread(_service(request).store.latest, request.match_info["rx_id"])
    if signed is None or signed.prescription.doctor.id != doctor_id:
        raise NotFoundError("rx_not_found", "No such prescription.")
    return signed


def _context_of(signed: Signed) -> IssueContext:
    rx = signed.prescription
    return IssueContext(rx.doctor, rx.patient, rx.consultation, rx.patient.phone)


async def correct_form(request: web.Request) -> web.StreamResponse:
    """The form filled in from the newest version; signing it makes the next version."""
    signed = await _latest_of_doctor(request)
    return await _form_page(request, _context_of(signed), form_from_prescription(signed.prescription), [],
                      correcting=signed)


async def correct_from_form(request: web.Request) -> web.StreamResponse:
    signed = await _latest_of_doctor(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    ctx = _context_of(signed)
    try:
        changes = clinical_changes(body_from_form(form))
        new = await asyncio.to_thread(_service(request).correct, signed.prescription.id, ctx.doctor.id, **changes)
    except RuleViolation as exc:
        return await _form_page(request, ctx, form, [p.message for p in exc.problems], 422, signed)
    except (InputError, StoreError) as exc:
        return await _form_page(request, ctx, form, [str(exc)], 400, signed)
    await _notify_patient(request, ctx.patient_mobile, new)
    raise web.HTTPSeeOther(f"/rx/mine#{new.prescription.id}")


async def _revoke(request: web.Request, reason: Any) -> Revocation:
    """Revoke the newest version for its issuing doctor; anyone else gets 404."""
    doctor_id = _doctor_id(request)
    try:
        return await asyncio.to_thread(_service(request).revoke, request.match_info["rx_id"], doctor_id,
                                       reason if isinstance(reason, str) else "")
    except (KeyError, NotAllowed):
        raise NotFoundError("rx_not_found", "No such prescription.") from None


@_api
async def revoke(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    try:
        revocation = await _revoke(request, body.get("reason"))
    except RuleViolation as exc:
        return _problem_reply(exc)
    except StoreError as exc:
        return web.json_response({"error": "conflict", "message": str(exc)}, status=409)
    return web.json_response({"id": revocation.rx_id, "version": revocation.version, "reason": revocation.reason})


async def revoke_from_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        await _revoke(request, str(form.get("reason", ""))[:500])
    except (RuleViolation, StoreError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    raise web.HTTPSeeOther(f"/rx/mine#{request.match_info['rx_id']}")
