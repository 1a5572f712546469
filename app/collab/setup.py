"""Wiring of the collaboration domain into the app (called from ``app.asgi.create_app``)."""

from __future__ import annotations

import logging
import uuid

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.types import ControllerRouterHandler

from app.collab import messages as m
from app.collab.controllers import SessionController
from app.collab.limits import allowed_origins
from app.collab.rooms import Rooms
from app.collab.services import SessionService
from app.collab.signaling import signaling
from app.core.settings import Settings

log = logging.getLogger("echoel.collab")

ROUTE_HANDLERS: list[ControllerRouterHandler] = [SessionController, signaling]


def attach(app: Litestar, settings: Settings, channels: ChannelsPlugin | None) -> None:
    """Put the session service on app.state; removals close the removed member's sockets."""
    service = SessionService(settings)

    async def kick(session_id: uuid.UUID, user_id: uuid.UUID) -> None:
        envelope = m.Envelope(kind="kick", sender="", user_id=str(user_id), to="")
        try:
            await rooms.publish(session_id, envelope)
        except Exception:  # the removal stands; the room's next membership check drops the sockets
            log.warning("could not announce a removal; sockets close at the next heartbeat", exc_info=True)

    rooms = Rooms(channels, service.active_members, settings.collab_heartbeat_seconds)
    service.on_kick = kick
    app.state.sessions = service
    app.state.rooms = rooms
    app.state.collab_origins = allowed_origins(settings)
