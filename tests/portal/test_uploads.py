"""Report uploads: type by content, size limit, stored outside the web root, only for the right people."""

from __future__ import annotations

import aiohttp

from portal.uploads import MAX_UPLOAD_BYTES, UPLOAD_DIR
from tests.portal.test_doctor import queued_patient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def send(browser, token_id: int, name: str, content: bytes, content_type: str):
    form = aiohttp.FormData()
    form.add_field("csrf", browser.csrf)
    form.add_field("file", content, filename=name, content_type=content_type)
    resp = await browser.client.post(f"/portal/tokens/{token_id}/uploads", data=form, allow_redirects=False)
    return resp, await resp.text()


async def stored_files(server):
    return sorted((server.data_dir / UPLOAD_DIR).glob("*")) if (server.data_dir / UPLOAD_DIR).exists() else []


async def test_a_pdf_report_is_stored_and_the_patients_doctor_can_download_it(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    await patient.get(f"/portal/tokens/{tid}")
    resp, _ = await send(patient, tid, "../../etc/old prescription.pdf", PDF, "application/pdf")
    assert resp.status == 303
    resp, text = await patient.get(f"/portal/tokens/{tid}")
    assert "old prescription.pdf" in text and "../" not in text
    files = await stored_files(server)
    assert len(files) == 1 and files[0].read_bytes() == PDF and (files[0].stat().st_mode & 0o077) == 0
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    resp = await doctor.client.get("/portal/uploads/1")
    assert resp.status == 200 and await resp.read() == PDF
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment")


async def test_a_disguised_file_is_refused_whatever_its_name_says(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    await patient.get(f"/portal/tokens/{tid}")
    resp, text = await send(patient, tid, "report.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")
    assert resp.status == 400 and "Only PDF, JPEG or PNG files can be sent." in text
    resp, text = await send(patient, tid, "x-ray.png", b"MZ\x90\x00" + b"\x00" * 100, "image/png")
    assert resp.status == 400
    assert await stored_files(server) == []


async def test_an_oversize_file_is_refused_and_nothing_is_stored(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    await patient.get(f"/portal/tokens/{tid}")
    resp, text = await send(patient, tid, "scan.png", PNG + b"\x00" * MAX_UPLOAD_BYTES, "image/png")
    assert resp.status == 400 and "The file is too big." in text
    assert await stored_files(server) == []
    resp, text = await send(patient, tid, "scan.png", PNG, "image/png")
    assert resp.status == 303


async def test_a_patient_cannot_read_another_patients_upload(server, clinic):
    owner, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    await owner.get(f"/portal/tokens/{tid}")
    await send(owner, tid, "r.png", PNG, "image/png")
    resp = await owner.client.get("/portal/uploads/1")
    assert resp.status == 200
    stranger, _, stranger_token = await queued_patient(server, "9000000002", clinic.gen, "hi")
    resp = await stranger.client.get("/portal/uploads/1")
    assert resp.status == 403
    resp, _ = await send(stranger, tid, "r.png", PNG, "image/png")
    assert resp.status == 403, "nor upload into someone else's token"
    eye_doctor = await server.browser()
    await eye_doctor.staff_login("dr-eye")
    resp = await eye_doctor.client.get("/portal/uploads/1")
    assert resp.status == 403
