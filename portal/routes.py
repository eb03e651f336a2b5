"""The portal's route table (mounted under /portal)."""

from __future__ import annotations

from aiohttp import web

from . import views_api as api
from . import views_patient as patient
from . import views_staff as staff
from . import views_workspace as workspace
from .render import STATIC


def setup(app: web.Application) -> None:
    """Add every route to the portal sub-application; paths are relative to /portal."""
    r = app.router
    # patients
    r.add_get("/", patient.start)
    r.add_post("/otp", patient.send_otp)
    r.add_post("/otp/verify", patient.verify_otp)
    r.add_get("/l/{code_id}", patient.otp_link)
    r.add_post("/l/{code_id}", patient.redeem_otp_link)
    r.add_get("/me", patient.me)
    r.add_get("/register", patient.register_form)
    r.add_post("/register", patient.register)
    r.add_get("/patients/{patient_id}/book", patient.book_form)
    r.add_post("/patients/{patient_id}/book", patient.book)
    r.add_get("/patients/{patient_id}/record", patient.record)
    r.add_get("/tokens/{token_id}", patient.token_page)
    r.add_post("/tokens/{token_id}/join", patient.join)
    r.add_post("/tokens/{token_id}/call", patient.call)
    r.add_post("/tokens/{token_id}/uploads", patient.upload)
    r.add_get("/t/{token_id}", patient.token_link)
    r.add_get("/lang", patient.choose_language)
    r.add_get("/text", patient.choose_text_size)
    r.add_post("/logout", patient.logout)
    r.add_get("/dev/sms", patient.dev_inbox)
    # staff
    r.add_get("/staff/login", staff.login_form)
    r.add_post("/staff/login", staff.login)
    r.add_post("/staff/logout", staff.logout)
    r.add_get("/doctor", staff.doctor_home)
    r.add_post("/doctor/admit", staff.admit)
    r.add_get("/doctor/consultations/{consultation_id}", workspace.workspace_page)
    r.add_get("/doctor/consultations/{consultation_id}/record", staff.consultation_page)
    r.add_post("/doctor/consultations/{consultation_id}/{action}", staff.consultation_action)
    r.add_get("/doctor/patients/{patient_id}", staff.patient_page)
    r.add_get("/uploads/{upload_id}", staff.download_upload)
    r.add_get("/hw", staff.hw_home)
    r.add_post("/hw/refer", staff.refer)
    r.add_post("/hw/tokens/{token_id}/room", staff.hw_room)
    # JSON and live updates
    r.add_get("/api/opds", api.opds)
    r.add_get("/api/me", api.me)
    r.add_get("/api/tokens/{token_id}", api.token_state)
    r.add_post("/api/tokens/{token_id}/join", api.join)
    r.add_post("/api/tokens/{token_id}/call", api.call)
    r.add_get("/queue/ws", api.queue_ws)
    r.add_get("/api/doctor/dashboard", api.doctor_board)
    r.add_post("/api/doctor/admit", api.doctor_admit)
    r.add_get("/api/doctor/consultations/{consultation_id}/room", api.doctor_room)
    r.add_post("/api/doctor/consultations/{consultation_id}/{action}", api.doctor_action)
    r.add_get("/api/hw/tokens/{token_id}/room", api.hw_room)
    r.add_get("/api/dev/sms", api.dev_sms)
    STATIC.add_routes(app)
