"""A real server (signaling's create_app) on a free port over a real SQLite file in a temporary data dir,
and browser-like clients that keep cookies, read CSRF tokens from pages and follow the patient's flow."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal import db, security
from portal import storage as st
from portal.context import PORTAL, Portal
from portal.models import OpdKind
from signaling.app import create_app
from signaling.config import load_config

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Clinic:
    """Staff and OPDs written straight into the database file before the server starts."""

    gen: int = 0
    eye: int = 0
    hub: int = 0
    doctors: dict[str, int] = field(default_factory=dict)
    hws: dict[str, int] = field(default_factory=dict)


def make_clinic(data_dir: Path) -> Clinic:
    conn = db.connect(data_dir / db.DB_FILE)
    db.migrate(conn)
    pw = security.hash_password(PASSWORD)
    clinic = Clinic()
    clinic.gen = st.add_opd(conn, code="GEN", name="General OPD").id
    clinic.eye = st.add_opd(conn, code="EYE", name="Eye OPD", kind=OpdKind.SPECIALITY, speciality="eye").id
    clinic.hub = st.add_opd(conn, code="CAR", name="Cardiology hub", kind=OpdKind.SPECIALITY,
                            speciality="cardiology", is_hub=True).id
    for serial, (username, langs, opds) in enumerate((
        ("dr-hindi", ["hi", "en"], [clinic.gen]),
        ("dr-tamil", ["ta", "en"], [clinic.gen]),
        ("dr-eye", ["en", "kn"], [clinic.eye]),
        ("dr-heart", ["en", "hi"], [clinic.hub]),
    )):
        # A number as the council prints it: rx refuses to sign under a malformed one.
        d = st.add_doctor(conn, username=username, name=f"Dr {username}", qualification="MBBS",
                          registration_number=f"KMC-{48210 + serial}", council="Karnataka Medical Council",
                          password_hash=pw, languages=langs)
        clinic.doctors[username] = d.id
        for opd in opds:
            st.assign_doctor_to_opd(conn, d.id, opd)
    clinic.hws["hw-1"] = st.add_health_worker(conn, username="hw-1", name="Lakshmi", facility="PHC Hosakote",
                                              password_hash=pw).id
    clinic.hws["hw-2"] = st.add_health_worker(conn, username="hw-2", name="Ravi", facility="PHC Kolar",
                                              password_hash=pw).id
    conn.close()
    return clinic


class Browser:
    """One person's browser: its own cookie jar against the shared server."""

    def __init__(self, client: TestClient, server: "Server") -> None:
        self.client = client
        self.server = server
        self.csrf = ""

    async def get(self, path: str, **kw):
        resp = await self.client.get(path, **kw)
        text = await resp.text()
        m = _CSRF.search(text)
        if m:
            self.csrf = m.group(1)
        return resp, text

    async def post(self, path: str, data: dict | None = None, follow: bool = False, **kw):
        if not self.csrf:
            await self.get("/portal/")
        body = {"csrf": self.csrf, **(data or {})}
        resp = await self.client.post(path, data=body, allow_redirects=follow, **kw)
        text = await resp.text()
        m = _CSRF.search(text)
        if m:
            self.csrf = m.group(1)
        return resp, text

    async def api(self, method: str, path: str, json=None):
        if not self.csrf:
            await self.get("/portal/")
        resp = await self.client.request(method, path, json=json, headers={"X-CSRF-Token": self.csrf})
        return resp, await resp.json()

    # ---- the patient's steps ----

    async def login_with_otp(self, mobile: str) -> None:
        await self.get("/portal/")
        resp, _ = await self.post("/portal/otp", {"mobile": mobile})
        assert resp.status == 200
        code = self.server.last_code(mobile)
        resp, _ = await self.post("/portal/otp/verify", {"mobile": mobile, "code": code})
        assert resp.status == 303, "OTP login failed"

    async def register(self, name: str = "Asha Devi", language: str = "hi", **fields) -> str:
        form = {"name": name, "age": "34", "sex": "female", "state": "Karnataka", "district": "Mysuru",
                "language": language, **fields}
        resp, text = await self.post("/portal/register", form)
        assert resp.status == 200, text
        return re.search(r"<strong>(VP-[A-Z0-9-]+)</strong>", text).group(1)

    async def book(self, patient_id: str, opd: int, language: str = "hi", follow_up: bool = False) -> int:
        form = {"opd": str(opd), "language": language}
        if follow_up:
            form["follow_up"] = "yes"
        resp, text = await self.post(f"/portal/patients/{patient_id}/book", form)
        assert resp.status == 303, text
        return int(resp.headers["Location"].rsplit("/", 1)[1])

    async def join(self, token_id: int) -> None:
        resp, text = await self.post(f"/portal/tokens/{token_id}/join")
        assert resp.status == 303, text

    async def state(self, token_id: int) -> dict:
        resp, body = await self.api("GET", f"/portal/api/tokens/{token_id}")
        assert resp.status == 200, body
        return body

    async def staff_login(self, username: str, password: str = PASSWORD):
        await self.get("/portal/staff/login")
        return await self.post("/portal/staff/login", {"username": username, "password": password})


class Server:
    def __init__(self, aiohttp_server, aiohttp_client, data_dir: Path, **config) -> None:
        self._make_server = aiohttp_server
        self._make_client = aiohttp_client
        self.data_dir = data_dir
        self.config = load_config(None, {"data_dir": data_dir, **config})
        self.server: TestServer | None = None

    async def start(self) -> "Server":
        self.server = await self._make_server(create_app(self.config))
        self.config.public_url = str(self.server.make_url("")).rstrip("/")
        return self

    async def stop(self) -> None:
        assert self.server is not None
        await self.server.close()

    @property
    def portal(self) -> Portal:
        assert self.server is not None
        return self.server.app[PORTAL]

    def sms_to(self, mobile: str) -> list[str]:
        return [m.body for m in self.portal.sms.sent if m.to == mobile]

    def last_code(self, mobile: str) -> str:
        return re.search(r"\b(\d{6})\b", self.sms_to(mobile)[-1]).group(1)

    async def browser(self) -> Browser:
        return Browser(await self._make_client(self.server), self)


@pytest.fixture
def clinic(tmp_path) -> Clinic:
    return make_clinic(tmp_path)


@pytest.fixture
async def server(aiohttp_server, aiohttp_client, tmp_path, clinic) -> Server:
    return await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True).start()


@pytest.fixture
async def chromium():
    """Debian's Chromium with a fake camera and microphone (tests/helpers/browser.py)."""
    from tests.helpers.browser import chromium as launch

    async with launch() as browser:
        yield browser


async def staff_login_on_page(page, base: str, username: str) -> None:
    """Log a doctor, health worker or pharmacist in through the login form, as they would."""
    await page.goto(f"{base}/portal/staff/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", PASSWORD)
    await page.click("button.main")


async def fill_patient_form(page, name: str, age: str = "34", district: str = "Mysuru", language: str | None = None) -> None:
    """The patient fields of the registration (or referral) form, as a person types them."""
    await page.fill("#f-name", name)
    await page.fill("#f-age", age)
    await page.check("input[name=sex][value=female]")
    await page.fill("#f-state", "Karnataka")
    await page.fill("#f-district", district)
    if language is not None:
        await page.select_option("#f-language", language)
