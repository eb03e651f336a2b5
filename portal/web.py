"""Mounts the portal on the application: a /portal sub-application (its own middlewares), the services
opened and closed in the main app's cleanup_ctx, and `/` sending visitors to the registration page."""

from __future__ import annotations

from aiohttp import web

from signaling.config import Config

from . import routes
from .context import PORTAL, Portal
from .frame import frame_app
from .render import see_other
from .sms import SmsGateway


async def _home(request: web.Request) -> web.StreamResponse:
    return see_other("/portal/")


def setup(app: web.Application, config: Config, sms: SmsGateway | None = None) -> Portal:
    """Mount every portal route under /portal; the database opens when the app starts."""
    portal = Portal(config, sms)
    app[PORTAL] = portal
    app.cleanup_ctx.append(portal.lifecycle)
    app.on_shutdown.append(portal.close_sockets)
    sub = frame_app(portal)
    routes.setup(sub)
    app.add_subapp("/portal", sub)
    if not any(getattr(res, "canonical", None) == "/" for res in app.router.resources()):
        app.router.add_get("/", _home)
    return portal
