"""`vaidya serve --tls-cert/--tls-key`: the room page over HTTPS and signaling over WSS, from a real
server process with a real certificate (browsers give the camera only to secure pages off localhost)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import wait_until
from tests.helpers.browser import HAVE_CHROMIUM, NO_CHROMIUM, chromium
from tests.helpers.server import ServerProcess, self_signed_certificate, token

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by openssl as an operator would."""
    return self_signed_certificate(tmp_path)


@pytest.fixture
def tls_server(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[ServerProcess]:
    cert, key = certificate
    server = ServerProcess(tmp_path / "data", extra_args=("--tls-cert", str(cert), "--tls-key", str(key)))
    try:
        yield server
    finally:
        server.stop()


async def test_room_page_and_signaling_are_served_over_tls(
    tls_server: ServerProcess, certificate: tuple[Path, Path]
) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    base = f"https://127.0.0.1:{tls_server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/room/opd-tls", ssl=trust) as page:
            assert page.status == 200 and page.content_type == "text/html"
        async with http.ws_connect(f"wss://127.0.0.1:{tls_server.port}/ws", ssl=trust) as ws:
            await ws.send_json({"type": "join", "request_id": 1, "room": "opd-tls", "token": token("opd-tls", "pt-gita")})
            reply = json.loads((await ws.receive(timeout=10)).data)
            assert reply["type"] == "joined" and reply["request_id"] == 1, reply
        # plain HTTP to the TLS port is no way in, and a client that does not trust the certificate stops
        with pytest.raises(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{tls_server.port}/room/opd-tls") as plain:
                await plain.read()
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with http.get(f"{base}/room/opd-tls"):
                pass


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)
async def test_chromium_over_https_gets_the_pages_scripts_brotli_compressed(tls_server: ServerProcess) -> None:
    """Browsers offer brotli only to secure pages: over HTTPS the room page's scripts arrive as br, and run."""
    encodings: dict[str, str] = {}
    async with chromium(extra_args=("--ignore-certificate-errors",)) as browser:
        page = await (await browser.new_context(ignore_https_errors=True)).new_page()
        page.on("response", lambda r: encodings.__setitem__(r.url, r.headers.get("content-encoding", "")))
        url = f"https://127.0.0.1:{tls_server.port}/room/opd-tls#token={token('opd-tls', 'pt-gita')}"
        await page.goto(url)
        await wait_until(lambda: page.evaluate("!!(window.vaidya && window.vaidya.client)"), "the room page to run")
    scripts = {u: e for u, e in encodings.items() if u.endswith(".js")}
    assert scripts and set(scripts.values()) == {"br"}, encodings


def test_a_certificate_without_its_key_is_refused_at_start(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, _ = certificate
    for args, says in (
        (["--tls-cert", str(cert)], "give both or neither"),
        (["--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem")], "no such file"),
        (["--tls-cert", str(cert), "--tls-key", str(cert)], "cannot load"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "signaling.cli", "serve", "--workers", "0", "--port", "0", "--sms-log-otps",
             "--data-dir", str(tmp_path / "data"), *args],
            capture_output=True, text=True, timeout=30,
        )
        assert done.returncode == 2 and says in done.stderr, (args, done.returncode, done.stderr)
