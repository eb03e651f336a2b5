"""Composition root: builds the one aiohttp application from its parts."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from . import keys
from media.sfu.aiortc_bridge import compact_rate_windows, restrict_host_addresses, wait_longer_for_consent

from portal.datafiles import private_dir, tighten

from .config import Config, ensure_secret

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(config: Config) -> web.Application:
    """The whole server: health, signaling WebSocket and room page, then the portal and Rx routes."""
    tighten(config.data_dir)  # before anything opens a file: an older version left the database 0644
    private_dir(config.data_dir)
    ensure_secret(config)
    restrict_host_addresses([a.strip() for a in config.media_addresses.split(",") if a.strip()])
    wait_longer_for_consent()
    compact_rate_windows()
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[keys.CONFIG] = config
    from . import headers, memory, slow_body

    memory.setup(app)
    slow_body.setup(app)
    headers.setup(app)
    app.router.add_get("/healthz", healthz)

    from . import routes as signaling_routes

    signaling_routes.setup(app)

    # The portal and Rx mount their own routes; they never import the media plane.
    import portal.web
    import rx.web

    if config.records:
        records = portal.web.setup(app, config)
        rx.web.setup(app, config)
        # A room that belongs to a consultation keeps its chat and photos with the portal's record.
        app[keys.ROOM_LOG] = records.room_log
        if config.redis_url:  # and it keeps it for rooms that live on the other nodes too
            from . import room_history_service

            room_history_service.setup(app)
    elif config.redis_url:  # a rooms-only node (docs/scale.md) serves the portal and Rx from the records node
        from . import records_relay

        records_relay.setup(app, app[keys.WORKERS].directory)
    return app
