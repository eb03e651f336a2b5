"""Every reply of the server — room page, portal and Rx pages, static files, error pages — carries the
security headers, a charset on text, the right cache policy and gzip; every WebSocket checks the Origin."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import brotli
import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from signaling.app import create_app
from signaling.config import load_config

ROOT = Path(__file__).parents[2]
PAGES = [*ROOT.glob("portal/templates/*.html"), *ROOT.glob("rx/templates/*.html"), ROOT / "signaling/static/room.html"]


async def serve(aiohttp_client, tmp_path: Path, **config) -> TestClient:
    return await aiohttp_client(create_app(load_config(overrides={"data_dir": tmp_path, **config})))


def assert_secure(resp: aiohttp.ClientResponse) -> None:
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/room/opd-7", "/portal/", "/portal/staff/login", "/rx/verify", "/no/such/page",
                                  "/room/bad%20name"])
async def test_every_page_and_error_carries_the_security_headers_and_a_charset(aiohttp_client, tmp_path, path):
    client = await serve(aiohttp_client, tmp_path)
    resp = await client.get(path)
    assert_secure(resp)
    assert resp.charset == "utf-8", resp.headers["Content-Type"]
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_page_has_inline_script_handlers_or_styles(page):
    """What the CSP would block must not be there to break: scripts come from files only."""
    html = page.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"inline script in {page.name}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler in {page.name}"
    assert not re.search(r"\sstyle\s*=", html), f"inline style in {page.name}"


async def test_static_files_are_fingerprinted_cached_for_a_year_and_compressed(aiohttp_client, tmp_path):
    client = await serve(aiohttp_client, tmp_path)
    html = await (await client.get("/room/opd-7")).text()
    script = re.search(r'src="(/static/v-[0-9a-f]{12}/room\.js)"', html).group(1)
    resp = await client.get(script, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert resp.headers["Content-Encoding"] == "gzip" and resp.headers["Vary"] == "Accept-Encoding"
    assert resp.charset == "utf-8"
    assert_secure(resp)
    # a relative import resolves inside the same fingerprint
    imported = script.rsplit("/", 1)[0] + "/vaidya-client.js"
    assert (await client.get(imported)).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # the old unversioned path still serves, revalidated; an old fingerprint is not cached as current
    assert (await client.get("/static/room.js")).headers["Cache-Control"] == "no-cache"
    assert (await client.get("/static/v-000000000000/room.js")).headers["Cache-Control"] == "no-cache"
    assert (await client.get("/static/v-000000000000/../../signaling/app.py")).status == 404
    portal_page = await (await client.get("/portal/")).text()
    css = re.search(r'href="(/portal/static/v-[0-9a-f]{12}/portal\.css)"', portal_page).group(1)
    client.session.cookie_jar.clear()
    resp = await client.get(css)
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Set-Cookie" not in resp.headers, "a shared cache would hand one browser's cookie to everyone"


async def test_pages_and_json_are_gzipped_for_clients_that_accept_it(aiohttp_client, tmp_path):
    client = await serve(aiohttp_client, tmp_path)
    for path in ("/portal/", "/room/opd-7"):
        gz = await client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        plain = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert gz.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
        assert len(await gz.read()) < len(await plain.read()) / 2, path


async def test_clients_that_accept_brotli_get_it_smaller_than_gzip(aiohttp_client, tmp_path):
    """Browsers offer br over HTTPS: pages and static files then come brotli-compressed, smaller than gzip
    (what a patient on 2G downloads); `br;q=0` refuses it."""
    client = await serve(aiohttp_client, tmp_path)
    html = await (await client.get("/room/opd-7")).text()
    script = re.search(r'src="(/static/v-[0-9a-f]{12}/room\.js)"', html).group(1)
    for path in ("/portal/", "/room/opd-7", script, "/static/vaidya-client.js"):
        plain = await (await client.get(path, headers={"Accept-Encoding": "identity"})).read()
        br = await client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"}, auto_decompress=False)
        gz = await client.get(path, headers={"Accept-Encoding": "gzip, deflate"}, auto_decompress=False)
        assert br.headers["Content-Encoding"] == "br" and br.headers["Vary"] == "Accept-Encoding", path
        assert gz.headers["Content-Encoding"] == "gzip", path
        body = await br.read()
        if path.startswith("/portal/"):  # a page carries a fresh CSRF token each time: compare its size
            assert abs(len(brotli.decompress(body)) - len(plain)) < 64, path
        else:
            assert brotli.decompress(body) == plain, path
        assert len(body) < len(await gz.read()), path
        assert_secure(br)
    assert (await client.get(script, headers={"Accept-Encoding": "gzip, deflate, br"})).headers["Cache-Control"] == \
        "public, max-age=31536000, immutable"
    plain_path = await client.get("/static/room.js", headers={"Accept-Encoding": "br"}, auto_decompress=False)
    again = await client.get("/static/room.js", headers={"Accept-Encoding": "br",
                                                         "If-None-Match": plain_path.headers["ETag"]})
    assert again.status == 304 and not await again.read(), "a revalidated file is not sent again"
    refused = await client.get(script, headers={"Accept-Encoding": "br;q=0, gzip"}, auto_decompress=False)
    assert refused.headers["Content-Encoding"] == "gzip"
    nothing = await client.get(script, headers={"Accept-Encoding": "br;q=0"}, auto_decompress=False)
    assert "Content-Encoding" not in nothing.headers


@pytest.mark.parametrize("path", ["/ws", "/portal/queue/ws?token=1"])
async def test_a_websocket_from_a_foreign_page_is_refused(aiohttp_client, tmp_path, path):
    client = await serve(aiohttp_client, tmp_path, ws_allowed_origins="https://opd.example.org")
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(path, headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(path, headers={"Origin": "null"})
    assert refused.value.status == 403


async def test_a_websocket_from_this_site_an_allowed_one_or_no_browser_is_let_in(aiohttp_client, tmp_path):
    client = await serve(aiohttp_client, tmp_path, ws_allowed_origins="https://opd.example.org")
    own = str(client.make_url("")).rstrip("/")
    for headers in ({"Origin": own}, {"Origin": "https://opd.example.org"}, {}):
        ws = await client.ws_connect("/ws", headers=headers)
        await ws.close()
    with pytest.raises(WSServerHandshakeError) as not_logged_in:  # past the Origin check: sent to log in
        await client.ws_connect("/portal/queue/ws?token=1", headers={"Origin": own})
    assert not_logged_in.value.status != 403 and not_logged_in.value.request_info.url.path == "/portal/"


async def test_the_fronts_relay_checks_the_origin_too(tmp_path):
    """With worker processes the front's own WebSocket handler answers /ws: it refuses foreign pages as well."""
    from tests.helpers.server import ServerProcess

    server = ServerProcess(tmp_path / "data", extra_args=("--workers", "1"))
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(WSServerHandshakeError) as refused:
                await http.ws_connect(server.ws_url, headers={"Origin": "https://evil.example"})
            assert refused.value.status == 403
            ws = await http.ws_connect(server.ws_url, headers={"Origin": server.url})
            await ws.close()
    finally:
        server.stop()
