"""Portal traffic for a soak: patients booking and doctors admitting, as a clinic's day does, at a set rate.

A soak must load the whole server, not only its media path: the portal's sessions, CSRF tokens,
database connections, queue updates and SMS outbox are where a web server leaks. `PortalTraffic` logs a
few patients in by OTP (the code read from the dev SMS inbox, `vaidya serve --dev`) and the demo doctor
by password (`--seed-demo`), then repeats one visit: a patient registers a family member, books the
general OPD, checks in, polls the token and the queue; the doctor admits that token and ends the
consultation; the patient sees it done. Every request waits for its slot at `rps` per second and is
recorded with its latency and status.

The portal limits each client address (`portal.context`: 2 writes/s, 10 reads/s sustained; 10 OTPs per
address per hour), and all of this traffic comes from 127.0.0.1: a visit is 5 writes in 12 requests, so
`rps` up to 4 stays inside the write budget, and the patients are few and logged in once.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from portal.seed import CREDENTIALS_FILE, DEMO_DOCTOR, _read_credentials

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_PATIENT_ID = re.compile(r"<strong>(VP-[A-Z0-9-]+)</strong>")
_OTP = re.compile(r"\b(\d{6})\b")
MAX_RPS = 4.0
"""Above this the visits' writes exceed the portal's per-address write budget (2/s)."""
PATIENT_MOBILES = ("9876500001", "9876500002", "9876500003")


class PortalError(Exception):
    """A step of a visit got an answer it cannot go on from."""


@dataclass(frozen=True)
class Request:
    """One portal request as the soak saw it."""

    t: float
    """Unix time its answer came (or it failed): the interval it is counted in."""
    name: str
    status: int
    """HTTP status, or 0 when no answer came (connection error or timeout)."""
    ms: float


class Session:
    """One person's browser: a cookie jar and the CSRF token of the last page it read."""

    def __init__(self, traffic: PortalTraffic) -> None:
        self.traffic = traffic
        self.http = aiohttp.ClientSession(base_url=traffic.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          timeout=aiohttp.ClientTimeout(total=30))
        self.csrf = ""

    async def call(self, name: str, method: str, path: str, *, form: dict[str, str] | None = None,
                   json: Any = None, expect: tuple[int, ...] = (200,)) -> tuple[aiohttp.ClientResponse, str]:
        """One request in its rate slot, recorded; raises PortalError on an unexpected status."""
        await self.traffic.slot()
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        data = {"csrf": self.csrf, **form} if form is not None else None
        start = time.perf_counter()
        try:
            async with self.http.request(method, path, data=data, json=json, headers=headers,
                                         allow_redirects=False) as response:
                text = await response.text()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.traffic.record(Request(time.time(), name, 0, (time.perf_counter() - start) * 1000))
            raise PortalError(f"{name}: {type(exc).__name__}: {exc}") from exc
        self.traffic.record(Request(time.time(), name, response.status, (time.perf_counter() - start) * 1000))
        if (found := _CSRF.search(text)) is not None:
            self.csrf = found.group(1)
        if response.status not in expect:
            raise PortalError(f"{name}: HTTP {response.status}: {text[:200]}")
        return response, text

    async def close(self) -> None:
        await self.http.close()


class PortalTraffic:
    """Visits against one server's portal at `rps` requests per second, until `stop()`."""

    def __init__(self, base_url: str, data_dir: str, rps: float) -> None:
        """`data_dir`: the server's, where `--seed-demo` wrote the demo doctor's password."""
        if not 0 < rps <= MAX_RPS:
            raise ValueError(f"portal rate must be in (0, {MAX_RPS:g}] requests/s: the portal's per-address limits")
        self.base_url, self.data_dir, self.rps = base_url, data_dir, rps
        self.requests: list[Request] = []
        self.visits = 0
        self.failures: list[str] = []
        self._next = time.monotonic()
        self._sessions: list[Session] = []
        self._stopping = False

    async def slot(self) -> None:
        """Wait for the next request's turn: one every 1/rps seconds, never bunched up after a slow answer."""
        now = time.monotonic()
        self._next = max(self._next + 1 / self.rps, now)
        await asyncio.sleep(self._next - now)

    def record(self, request: Request) -> None:
        self.requests.append(request)

    def _session(self) -> Session:
        session = Session(self)
        self._sessions.append(session)
        return session

    async def _patient(self, mobile: str) -> Session:
        patient = self._session()
        await patient.call("home", "GET", "/portal/")
        await patient.call("otp", "POST", "/portal/otp", form={"mobile": mobile})
        _, inbox = await patient.call("dev_sms", "GET", "/portal/api/dev/sms")
        codes = [m["body"] for m in json.loads(inbox)["messages"] if m["to"].endswith(mobile)]
        found = _OTP.search(codes[-1]) if codes else None
        if found is None:
            raise PortalError(f"no OTP for {mobile} in the dev SMS inbox (is the server started with --dev?)")
        await patient.call("otp_verify", "POST", "/portal/otp/verify", form={"mobile": mobile, "code": found.group(1)},
                           expect=(303,))
        return patient

    async def _doctor(self) -> Session:
        password = _read_credentials(Path(self.data_dir) / CREDENTIALS_FILE).get(DEMO_DOCTOR)
        if password is None:
            raise PortalError("no demo doctor's password in the server's data dir (is it started with --seed-demo?)")
        doctor = self._session()
        await doctor.call("staff_login_form", "GET", "/portal/staff/login")
        await doctor.call("staff_login", "POST", "/portal/staff/login",
                          form={"username": DEMO_DOCTOR, "password": password}, expect=(303,))
        return doctor

    async def _visit(self, patient: Session, doctor: Session, opd: int) -> None:
        """One patient's visit, booking to the end of the consultation: 12 requests, 5 of them writes."""
        _, page = await patient.call("register", "POST", "/portal/register", form={
            "name": f"Soak Patient {self.visits}", "age": "40", "sex": "female", "state": "Karnataka",
            "district": "Mysuru", "language": "hi"})
        patient_id = _PATIENT_ID.search(page)
        if patient_id is None:
            raise PortalError("register: no patient id on the page")
        response, _ = await patient.call("book", "POST", f"/portal/patients/{patient_id.group(1)}/book",
                                         form={"opd": str(opd), "language": "hi"}, expect=(303,))
        token = int(response.headers["Location"].rsplit("/", 1)[1])
        await patient.call("token_page", "GET", f"/portal/tokens/{token}")
        await patient.call("join", "POST", f"/portal/tokens/{token}/join", form={}, expect=(303,))
        for _ in range(2):
            await patient.call("token_state", "GET", f"/portal/api/tokens/{token}")
        await doctor.call("dashboard", "GET", "/portal/api/doctor/dashboard")
        _, admitted = await doctor.call("admit", "POST", "/portal/api/doctor/admit", json={"opd": opd, "token": token})
        consultation = json.loads(admitted)["consultation"]["id"]
        await patient.call("token_state", "GET", f"/portal/api/tokens/{token}")
        await doctor.call("end", "POST", f"/portal/api/doctor/consultations/{consultation}/end", json={})
        _, state = await patient.call("token_state", "GET", f"/portal/api/tokens/{token}")
        if json.loads(state).get("status") != "done":
            raise PortalError(f"token {token} is not done after its consultation ended")
        await patient.call("me", "GET", "/portal/api/me")
        self.visits += 1

    async def run(self) -> None:
        """Log everyone in, then visit after visit until `stop()`; a failed visit is recorded and the next
        one starts."""
        try:
            doctor = await self._doctor()
            patients = [await self._patient(mobile) for mobile in PATIENT_MOBILES]
            _, listing = await doctor.call("opds", "GET", "/portal/api/opds")
            opd = next(o["id"] for o in json.loads(listing)["opds"] if o["code"] == "GEN")
        except (PortalError, StopIteration, KeyError, ValueError) as exc:
            self.failures.append(f"portal log-in: {type(exc).__name__}: {exc}")
            return
        turn = 0
        while not self._stopping:
            try:
                await self._visit(patients[turn % len(patients)], doctor, opd)
            except (PortalError, KeyError, ValueError) as exc:
                self.failures.append(f"visit {turn}: {exc}")
            turn += 1

    def stop(self) -> None:
        """Finish after the current visit."""
        self._stopping = True

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self._sessions), return_exceptions=True)
