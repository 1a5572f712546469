"""HTTP for collaboration sessions: translate requests into SessionService calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.accounts.tables import User
from app.collab.schemas import (
    IceConfig,
    Invite,
    InviteCreate,
    JoinRequest,
    Session,
    SessionCreate,
    SessionUpdate,
    Ticket,
)
from app.collab.services import SessionService
from app.core.http import NO_STORE


def provide_sessions(request: Request[Any, Any, Any]) -> SessionService:
    service: SessionService = request.app.state.sessions
    return service


class SessionController(Controller):
    """Rooms, invites and members; ICE configuration for members."""

    path = "/api/v1/sessions"
    tags = ["sessions"]
    dependencies = {"sessions": Provide(provide_sessions, sync_to_thread=False)}
    response_headers = NO_STORE

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self, request: Request[User, Any, Any], data: JSONBody[SessionCreate], sessions: NamedDependency[SessionService]
    ) -> Session:
        return await sessions.create(data, request.user)

    @get("/")
    async def list_mine(
        self, request: Request[User, Any, Any], sessions: NamedDependency[SessionService]
    ) -> list[Session]:
        return await sessions.list_mine(request.user)

    @get("/{session_id:uuid}")
    async def get_one(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        sessions: NamedDependency[SessionService],
    ) -> Session:
        return await sessions.get(session_id, request.user)

    @patch("/{session_id:uuid}")
    async def update(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        data: JSONBody[SessionUpdate],
        sessions: NamedDependency[SessionService],
    ) -> Session:
        """The host locks or unlocks the room."""
        return await sessions.set_locked(session_id, request.user, data.locked)

    @post("/{session_id:uuid}/invites", status_code=HTTP_201_CREATED)
    async def invite(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        data: JSONBody[InviteCreate],
        sessions: NamedDependency[SessionService],
    ) -> Invite:
        return await sessions.invite(session_id, request.user, data)

    @delete("/{session_id:uuid}/invites/{invite_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_invite(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        invite_id: FromPath[uuid.UUID],
        sessions: NamedDependency[SessionService],
    ) -> None:
        await sessions.revoke_invite(session_id, request.user, invite_id)

    @post("/join", status_code=HTTP_200_OK)
    async def join_by_link(
        self, request: Request[User, Any, Any], data: JSONBody[JoinRequest], sessions: NamedDependency[SessionService]
    ) -> Session:
        return await sessions.join_by_link(data.token, request.user)

    @post("/{session_id:uuid}/join", status_code=HTTP_200_OK)
    async def join_by_handle(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        sessions: NamedDependency[SessionService],
    ) -> Session:
        return await sessions.join_by_handle(session_id, request.user)

    @delete("/{session_id:uuid}/members/{user_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove_member(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        sessions: NamedDependency[SessionService],
    ) -> None:
        await sessions.remove(session_id, request.user, user_id)

    @get("/{session_id:uuid}/ice")
    async def ice(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        sessions: NamedDependency[SessionService],
    ) -> IceConfig:
        """STUN and TURN servers with credentials valid at most an hour (TURN REST scheme)."""
        return await sessions.ice(session_id, request.user)

    @post("/{session_id:uuid}/ticket", status_code=HTTP_201_CREATED)
    async def ticket(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[uuid.UUID],
        sessions: NamedDependency[SessionService],
    ) -> Ticket:
        """A 30-second ticket to authenticate the signaling websocket (browsers keep tokens out of URLs)."""
        return await sessions.ticket(session_id, request.user)
