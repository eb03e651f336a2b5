"""docs/deploy.md's nginx recipe, as written there, in front of a real server: the page and a room join
(the signaling WebSocket upgraded through the proxy) over HTTPS."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.server import ServerProcess, free_port, self_signed_certificate, token, wait_for_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY_MD = Path(__file__).parents[2] / "docs" / "deploy.md"

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (scripts/install-system-deps.sh)"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl"),
]


def recipe() -> str:
    """The first ```nginx block of docs/deploy.md."""
    found = re.search(r"```nginx\n(.*?)```", DEPLOY_MD.read_text(encoding="utf-8"), re.S)
    assert found, "docs/deploy.md has no nginx recipe"
    return found.group(1)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The server on loopback HTTP and nginx in front of it with the recipe; yields (nginx port, its cert)."""
    cert, key = self_signed_certificate(tmp_path)
    port = free_port()
    # as docs/deploy.md says: the address patients use, and the proxy whose X-Forwarded-For names them
    server = ServerProcess(tmp_path / "data", extra_env={
        "VAIDYA_PUBLIC_URL": f"https://127.0.0.1:{port}", "VAIDYA_TRUSTED_PROXIES": "127.0.0.1"})
    block = recipe()
    # only the ports and the certificate paths change; everything else runs as documented
    for old, new in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("http://127.0.0.1:8080", f"http://127.0.0.1:{server.port}"),
        ("/etc/letsencrypt/live/vaidya.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/vaidya.example.org/privkey.pem", str(key)),
    ):
        assert old in block, f"the recipe no longer has {old!r}: update this test with it"
        block = block.replace(old, new)
    temp = tmp_path / "nginx"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"daemon off;\npid {temp}/nginx.pid;\nerror_log {temp}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log {temp}/access.log;\n  client_body_temp_path {temp}/body;\n"
        f"  proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n"
        f"  scgi_temp_path {temp}/scgi;\n{block}\n}}\n"
    )
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(temp)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, nginx, "nginx", 10.0)
        yield port, cert
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        server.stop()


async def test_the_documented_nginx_recipe_serves_pages_and_upgrades_the_signaling_socket(
    proxied: tuple[int, Path],
) -> None:
    port, cert = proxied
    trust = ssl.create_default_context(cafile=str(cert))
    origin = f"https://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{origin}/room/opd-proxy", ssl=trust) as page:
            assert page.status == 200 and page.content_type == "text/html"
        async with http.ws_connect(f"wss://127.0.0.1:{port}/ws", ssl=trust, origin=origin) as ws:
            await ws.send_json(
                {"type": "join", "request_id": 7, "room": "opd-proxy", "token": token("opd-proxy", "pt-gita")}
            )
            reply = json.loads((await ws.receive(timeout=10)).data)
            assert reply["type"] == "joined" and reply["request_id"] == 7, reply
