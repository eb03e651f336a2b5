"""Every page fits a 2G budget (≤ 60 KB over the wire, with its stylesheet and scripts) in every language,
and loads nothing from another host (no CDN, no font service)."""

from __future__ import annotations

import re

from portal.i18n import LANGUAGES
from tests.portal.test_doctor import admit, queued_patient
from tests.portal.test_hub_spoke import refer

BUDGET = 60 * 1024
MISSING = "/portal/tokens/999999"  # the error page
_ASSET = re.compile(r'<(?:link[^>]*\shref|script[^>]*\ssrc|img[^>]*\ssrc)="([^"]+)"')


def _wire_size(resp, body: bytes) -> int:
    headers = sum(len(k) + len(v) + 4 for k, v in resp.raw_headers)
    return len(body) + headers + len(f"HTTP/1.1 {resp.status} {resp.reason}\r\n\r\n")


async def weigh(browser, path: str) -> int:
    """Bytes a phone downloads to show the page: the HTML, its headers, and every asset it references."""
    resp = await browser.client.get(path)
    assert resp.status < 400 or path == MISSING, (path, resp.status)
    body = await resp.read()
    total = _wire_size(resp, body)
    for url in _ASSET.findall(body.decode()):
        assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url} from another host"
        asset = await browser.client.get(url)
        assert asset.status == 200, url
        total += _wire_size(asset, await asset.read())
    return total


async def test_patient_pages_fit_the_2g_budget_in_every_language(server, clinic):
    patient = await server.browser()
    await patient.get("/portal/lang?l=ml&next=/portal/")
    await patient.login_with_otp("9876543210")  # the OTP page, in Malayalam, is weighed below by its form
    pid = await patient.register("Asha Devi", language="ml")
    token_id = await patient.book(pid, clinic.gen, language="ml")
    await patient.join(token_id)
    sizes: dict[tuple[str, str], int] = {}
    for code in LANGUAGES:
        await patient.get(f"/portal/lang?l={code}&next=/portal/")
        for path in ("/portal/me", "/portal/register", f"/portal/patients/{pid}/book", f"/portal/tokens/{token_id}",
                     MISSING, "/portal/staff/login"):
            sizes[(code, path)] = await weigh(patient, path)
    fresh = await server.browser()
    for code in LANGUAGES:
        await fresh.get(f"/portal/lang?l={code}&next=/portal/")
        sizes[(code, "/portal/")] = await weigh(fresh, "/portal/")
    over = {k: v for k, v in sizes.items() if v > BUDGET}
    assert over == {}, over
    assert min(sizes.values()) > 2000, "the weighing saw real pages"


async def test_staff_pages_with_a_busy_queue_fit_the_2g_budget(server, clinic):
    for i in range(8):
        await queued_patient(server, f"90000000{i:02d}", clinic.gen, "hi", f"Patient number {i}")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    for mode in ("video", "audio", "text"):
        assert (await admit(doctor, clinic.gen, mode=mode))[0].status == 200
    hw = await server.browser()
    await hw.staff_login("hw-1")
    for _ in range(3):
        assert (await refer(hw, clinic.hub))[0].status == 303
    _, board = await doctor.api("GET", "/portal/api/doctor/dashboard")
    assert len(board["rooms"]) == 3 and len(board["queues"][0]["waiting"]) == 5
    patient_id = board["queues"][0]["waiting"][0]["patient"]["id"]
    for code in LANGUAGES:
        for browser, path in ((doctor, "/portal/doctor"), (doctor, f"/portal/doctor/patients/{patient_id}"),
                              (hw, "/portal/hw")):
            await browser.get(f"/portal/lang?l={code}&next=/portal/")
            size = await weigh(browser, path)
            assert size <= BUDGET, (code, path, size)
