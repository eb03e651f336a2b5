"""Sending a photo into a room as the page does (signaling/photos.py): announce, send chunks at the offset
the server has, and after a failed chunk ask how much arrived and carry on from there."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import aiohttp


async def upload_photo(base_url: str, room: str, token: str, content: bytes, chunk_bytes: int | None = None,
                       attempts: int = 20) -> tuple[int, dict[str, Any], int]:
    """(final status, final JSON body, how many chunk requests failed and were resumed)."""
    auth = {"Authorization": f"Bearer {token}"}
    failures = 0
    async with aiohttp.ClientSession(base_url) as http:
        async with http.post(f"/room/{room}/photos", headers=auth,
                             json={"size": len(content), "sha256": hashlib.sha256(content).hexdigest()}) as r:
            body = await r.json()
            if r.status != 201:
                return r.status, body, failures
        upload = f"/room/{room}/photos/uploads/{body['upload_id']}"
        step = chunk_bytes or body["chunk_bytes"]
        offset = 0
        while True:
            try:
                async with http.put(upload, params={"offset": str(offset)}, headers=auth,
                                    data=content[offset:offset + step]) as r:
                    body = await r.json()
                    if r.status in (200, 409):
                        offset = body["received"]
                        continue
                    return r.status, body, failures
            except (aiohttp.ClientError, asyncio.TimeoutError):
                failures += 1
                if failures >= attempts:
                    raise
                await asyncio.sleep(0.2)
                async with http.get(upload, headers=auth) as r:
                    offset = (await r.json())["received"]
