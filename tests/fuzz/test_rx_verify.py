"""Property: whatever a pharmacist types or scans (any string, or a real QR code with characters changed,
dropped or added) gets a verdict, never an exception; the verify page answers it with a 200 or 400.

Against a real store (SQLite file) holding a real signed prescription, and through the running app."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rx import qr
from rx.service import RxService
from rx.store import Store
from rx.verify import Status, Verdict, verify_offline, verify_online
from rx.web import RX_SERVICE
from tests.rx.builders import ISSUED, SECRET, prescription

from .corpus import entries
from .web_visitor import WebVisitor

BASE = "https://vaidya.example.in"


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """A service over a real SQLite file, the QR text of one real prescription, and the offline registry."""
    service = RxService(Store(tmp_path_factory.mktemp("rx") / "vaidya.db"), SECRET, clock=lambda: ISSUED)
    signed = service.issue(prescription())
    code = qr.encode(qr.payload_for(signed))
    return service, code, json.loads(json.dumps(service.registry()))


@st.composite
def mutated_codes(draw: st.DrawFn, code: str) -> str:
    """The real code (bare or in its URL) with a few characters replaced, dropped, doubled or inserted."""
    text = qr.verification_url(BASE, qr.decode(code)) if draw(st.booleans()) else code
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(chars) - 1))
        action = draw(st.sampled_from(["replace", "drop", "double", "insert"]))
        if action == "replace":
            chars[i] = draw(st.sampled_from("0123456789.-_=?&%ABZaz \n\u0966"))
        elif action == "drop" and len(chars) > 1:
            del chars[i]
        elif action == "double":
            chars.insert(i, chars[i])
        else:
            chars.insert(i, draw(st.text(max_size=3)))
    return "".join(chars)


def check_verdicts(issued, text: str) -> None:
    service, code, registry = issued
    for verdict in (verify_online(text, service.store), verify_offline(text, registry)):
        assert isinstance(verdict, Verdict)
        if verdict.status is not Status.INVALID:  # only the real code, however it was spelt, is valid
            assert verdict.rx_id == qr.decode(code).rx_id


def test_the_real_code_is_valid(issued):
    service, code, _ = issued
    assert verify_online(code, service.store).status is Status.VALID


@given(st.data())
@example(None)
def test_a_damaged_code_gets_a_verdict_never_an_exception(issued, data):
    _, code, _ = issued
    text = code[:-1] if data is None else data.draw(mutated_codes(code))
    check_verdicts(issued, text)


@given(st.text(max_size=120) | st.text("0123456789", max_size=400).map(lambda d: "RX2." + d))
@example("RX1.AAAA.99999999999999999999999.K.AA.AA")
@example("https://x/rx/verify?c=")
@example("RX2." + "9" * 17)
def test_any_text_gets_a_verdict_never_an_exception(issued, text):
    check_verdicts(issued, text)


@pytest.mark.parametrize("text", entries("rx_verify"))
def test_kept_texts_get_a_verdict(issued, text):
    check_verdicts(issued, text)


# -- the verify page --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def verifier(live):
    service = live.app[RX_SERVICE]
    signed = service.issue(prescription())

    async def open_visitor() -> WebVisitor:
        return WebVisitor(live.base_url, live.app)  # its HTTP session belongs to the server's loop

    visitor = live.run(open_visitor())
    yield live, visitor, qr.encode(qr.payload_for(signed))
    live.run(visitor.close())


def check_page(verifier, query: str, as_json: bool) -> None:
    live, visitor, _ = verifier
    headers = {"Accept": "application/json"} if as_json else {}
    resp, body = live.run(visitor.request("GET", f"/rx/verify?{query}", headers=headers))
    assert resp.status in (200, 400), (resp.status, body[:300])
    if as_json:
        reply = json.loads(body)
        assert "status" in reply or ("error" in reply and "message" in reply), reply


@given(st.text(max_size=80), st.sampled_from(["c", "id"]), st.text(max_size=25) | st.integers(-1, 2**70).map(str),
       st.booleans())
@example("7K3M-9QXD-4TBZ", "id", str(2**63), True)
@example("7K3M-9QXD-4TBZ", "id", "\u00b2", True)
def test_the_verify_page_answers_any_query(verifier, text, key, version, as_json):
    check_page(verifier, f"{key}={quote(text)}&v={quote(version)}", as_json)


@given(st.data())
def test_the_verify_page_answers_any_damaged_code(verifier, data):
    _, _, code = verifier
    check_page(verifier, f"c={quote(data.draw(mutated_codes(code)))}", True)
