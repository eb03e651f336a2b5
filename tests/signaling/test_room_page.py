"""The room page as served: one page for every room, small enough for a weak link, nothing from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from portal.i18n import LANGUAGES
from signaling.app import create_app
from signaling.config import load_config

# 80 KB since the page gained chat, photos and all its words in 11 languages (was 60 KB): ~4 s at 150 kbit/s, once
PAGE_BUDGET_BYTES = 80 * 1024
ASSET = re.compile(r'(?:src|href)="([^"]+)"')
IMPORT = re.compile(r'^import .* from "(\./[^"]+)";', re.MULTILINE)


async def serve(aiohttp_client, tmp_path: Path) -> TestClient:
    return await aiohttp_client(create_app(load_config(overrides={"data_dir": tmp_path})))


async def test_the_room_page_with_its_scripts_and_styles_weighs_under_80_kb(aiohttp_client, tmp_path) -> None:
    client = await serve(aiohttp_client, tmp_path)
    page = await client.get("/room/opd-7")
    assert page.status == 200
    html = await page.text()
    total = len(html.encode())
    pending = [url for url in ASSET.findall(html) if not url.startswith("data:")]
    seen: set[str] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        # No CDN, no third party: everything the page needs comes from our own /static/.
        assert url.startswith("/static/"), url
        reply = await client.get(url)
        assert reply.status == 200, url
        body = await reply.read()
        total += len(body)
        if url.endswith(".js"):
            base = url.rsplit("/", 1)[0]
            pending += [f"{base}/{name[2:]}" for name in IMPORT.findall(body.decode())]
    unversioned = {re.sub(r"^/static/v-[0-9a-z]+/", "/static/", url) for url in seen}  # fingerprints: test_headers.py
    assert {"/static/room.js", "/static/room.css", "/static/vaidya-client.js", "/static/room-words.js"} <= unversioned
    # The page also fetches the words of its user's language (one file, not all): budget the largest.
    languages = [code for code in LANGUAGES if code != "en"]
    sizes = []
    for code in languages:
        reply = await client.get(f"/static/words/{code}.js")
        assert reply.status == 200, code
        sizes.append(len(await reply.read()))
    total += max(sizes)
    assert total < PAGE_BUDGET_BYTES, f"the room page needs {total} bytes"


async def test_every_room_gets_the_same_page_and_a_bad_room_name_gets_none(aiohttp_client, tmp_path) -> None:
    client = await serve(aiohttp_client, tmp_path)
    first = await (await client.get("/room/opd-1")).text()
    second = await (await client.get("/room/another.room_2")).text()
    assert first == second
    assert (await client.get("/room/bad%20name%3Cscript%3E")).status == 404
