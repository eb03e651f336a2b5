"""The portal's services, built once per application and opened/closed with it.

`PORTAL` is a typed key on the main application, so the Rx module can reach the same database
(`app[portal.context.PORTAL].db`) without opening a second connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from signaling.config import Config, ensure_secret

from . import clinic_time
from .accounts import Accounts
from .consults import Consults
from .db import DB_FILE, Database
from .events import QueueEvents
from .i18n import Catalogs
from .notices import QueueNotices
from .queue import Queues
from .referrals import Referrals
from .room_records import ConsultationRoomLog
from .security import RateLimiter
from .sms import SmsGateway, gateway_from_environment
from .uploads import Uploads

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 15.0


@dataclass
class Limits:
    """Per-address request budgets (token buckets), keyed by signaling.client_address."""

    # Sized for carrier-grade NAT and shared clinic connections, where one address carries hundreds of
    # people (docs/security.md); OTP sends have limits of their own per number (portal/otp.py).
    post: RateLimiter = field(default_factory=lambda: RateLimiter(burst=300, per_s=10.0))
    login: RateLimiter = field(default_factory=lambda: RateLimiter(burst=30, per_s=0.5))
    read: RateLimiter = field(default_factory=lambda: RateLimiter(burst=1200, per_s=40.0))


class Portal:
    def __init__(self, config: Config, sms: SmsGateway | None = None) -> None:
        self.config = config
        self.secret = ensure_secret(config)
        self.db = Database(config.data_dir / DB_FILE)
        clinic_time.use_zone(config.zone)
        self.catalogs = Catalogs(config.zone)
        self.events = QueueEvents()
        self.sms: SmsGateway = sms or gateway_from_environment(log_text=config.sms_log_otps)
        self.limits = Limits()
        self.accounts = Accounts(self.db, self.secret, self.sms, self.catalogs.get, lambda: config.base_url)
        self.queues = Queues(self.db, self.events, self.secret, self.sms, self.catalogs.get, lambda: config.base_url)
        self.consults = Consults(self.db, self.events, self.secret)
        self.referrals = Referrals(self.db, self.events, self.secret)
        self.uploads = Uploads(self.db, config.data_dir)
        self.notices = QueueNotices(self.db, self.sms, self.catalogs.get, lambda: config.base_url,
                                    config.near_turn_sms_position)
        self.events.listen(self.notices.opd_changed)
        #: signaling's RoomLog for this server: consultation rooms keep chat and photos with their record
        self.room_log = ConsultationRoomLog(self.db, self.uploads)
        self.sockets: set[web.WebSocketResponse] = set()

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """cleanup_ctx: open the database (and seed the demo), run the queue sweep, close on exit."""
        await self.db.open()
        await self.room_log.open()
        await self.queues.expire_past_days()
        if self.config.seed_demo:
            from .seed import seed_demo

            await seed_demo(self.db, self.config)
        sweeper = asyncio.create_task(self._sweep_forever())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await self.events.drain()
            await self.sms.close()
            await self.db.close()

    async def close_sockets(self, app: web.Application) -> None:
        """on_shutdown: live queue sockets would otherwise hold the server open until they time out."""
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"server shutdown")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            try:
                await self.consults.sweep_unanswered()
                await self.queues.expire_past_days()
            except Exception:  # keep sweeping; one bad row must not stop missed-call handling
                log.exception("queue sweep failed")


PORTAL = web.AppKey("portal", Portal)
