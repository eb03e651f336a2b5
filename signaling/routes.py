"""The signaling route table: the WebSocket, the room page and its static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import keys
from .assets import StaticFiles
from .origin import require_allowed_origin
from .protocol import is_room_name
from .session import Session

STATIC_DIR = Path(__file__).parent / "static"
#: Frames above this close the socket (1009); frames above the configured message limit get `too_large`.
HARD_FRAME_LIMIT = 1024 * 1024
#: The room page's HTML, its static links fingerprinted at start-up.
ROOM_PAGE: web.AppKey[str | None] = web.AppKey("room_page")


async def websocket(request: web.Request) -> web.WebSocketResponse:
    require_allowed_origin(request)
    # Liveness is the session's job (pings plus media activity), so aiohttp's own heartbeat is off.
    ws = web.WebSocketResponse(autoping=False, max_msg_size=HARD_FRAME_LIMIT)
    await ws.prepare(request)
    session = Session(ws, request.app[keys.REGISTRY], request.app[keys.CONFIG], request.app[keys.ROOM_LOG])
    await session.run()
    return ws


async def room_page(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if not is_room_name(name):
        raise web.HTTPNotFound(text="no such room name")
    html = request.app[ROOM_PAGE]
    if html is None:
        raise web.HTTPNotFound(text="the room page is not installed")
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})


def room_page_html(static: StaticFiles) -> str | None:
    """room.html with its /static/ links fingerprinted (the scripts then import each other under the same
    fingerprint), or None if the page is not installed."""
    page = STATIC_DIR / "room.html"
    if not page.exists():
        return None
    return page.read_text(encoding="utf-8").replace('"/static/', f'"{static.url("")}')


def setup(app: web.Application) -> None:
    """Mount signaling's routes."""
    from media.adaptive.ladder import ladder_from_config

    from .registry import RoomRegistry
    from .room_log import MemoryRoomLog

    config = app[keys.CONFIG]
    app[keys.ROOM_LOG] = MemoryRoomLog()  # the composition root may install a log that keeps records
    if config.workers > 0:
        from .directory import directory_for
        from .front import WorkerPool, relay

        import socket

        # a wildcard listen address is no address to give other nodes: name the host instead
        host = socket.gethostname() if config.host in ("0.0.0.0", "::", "") else config.host
        node_url = config.node_url or f"{'wss' if config.tls_cert else 'ws'}://{host}:{config.port}/ws"
        directory = directory_for(config.redis_url, config.node_name, node_url, keeps_records=config.records)
        pool = app[keys.WORKERS] = WorkerPool(config, config.workers, directory)

        async def start_workers(app: web.Application) -> None:
            await pool.start()

        async def stop_workers(app: web.Application) -> None:
            await pool.stop()

        app.on_startup.append(start_workers)
        app.on_shutdown.append(stop_workers)
        app.router.add_get("/ws", relay)
    else:
        registry = RoomRegistry(ladder_from_config(config.ladder) if config.adaptive else None)
        app[keys.REGISTRY] = registry

        async def close_rooms(app: web.Application) -> None:
            registry.close()

        app.on_shutdown.append(close_rooms)
        app.router.add_get("/ws", websocket)
    if config.records or not config.redis_url:  # a rooms-only node relays photos to the records node
        from . import photos

        photos.setup(app)
    from . import metrics

    metrics.setup(app)
    app.router.add_get("/room/{name}", room_page)
    STATIC_DIR.mkdir(exist_ok=True)
    static = StaticFiles(STATIC_DIR)
    app[ROOM_PAGE] = room_page_html(static)
    static.add_routes(app)
