"""Litestar's JWT backend configured for Echoel, and the role guards.

Access tokens: HS256 only (pinned), 15 minutes at most, with exp/iat/jti/sub, issuer, audience
and a token type. The user is loaded on every request anyway (for its role), which also lets
"log out everywhere" cut off access tokens issued before it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

from app.accounts.tables import User
from app.core.settings import Settings

ROLE_RANK = {"member": 0, "creator": 1, "admin": 2}

# Routes anyone may call without a token.
PUBLIC_PATHS = [
    "^/$",
    "^/healthz",
    "^/readyz",
    "^/api/docs",
    "^/api/schema",
    "^/api/v1/auth/",
    r"^/[^/]*\.(html|css|js|svg|png|ico|webmanifest)$",
    "^/static/",
    "^/assets/",
]


@dataclass
class AccessToken(Token):
    """Litestar's token with a top-level ``typ`` claim, so no other token passes for an access one."""

    typ: str = ""
    gen: int = -1


def derive_key(secret: str, purpose: str) -> str:
    """A separate key per purpose from the one secret, so one leak does not open the others."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


async def retrieve_user(token: AccessToken, _: ASGIConnection[Any, Any, Any, Any]) -> User | None:
    if token.typ != "access":
        return None
    try:
        user_id = uuid.UUID(token.sub)
    except ValueError:
        return None
    user = await User.objects().where(User.id == user_id).first()
    if user is None or token.gen != user.token_generation:
        return None
    return user


async def user_for_token(
    jwt_auth: JWTAuth[User, AccessToken], token: str, connection: ASGIConnection[Any, Any, Any, Any]
) -> User | None:
    """The user an access token stands for, checked exactly as the HTTP backend checks a Bearer
    header (for tokens that arrive another way, such as a websocket's first message)."""
    try:
        decoded = AccessToken.decode(
            encoded_token=token,
            secret=jwt_auth.token_secret,
            algorithm=jwt_auth.algorithm,
            audience=jwt_auth.accepted_audiences,
            issuer=jwt_auth.accepted_issuers,
            require_claims=jwt_auth.require_claims,
            verify_exp=True,
            verify_nbf=True,
        )
    except NotAuthorizedException:
        return None
    return await retrieve_user(decoded, connection)


def make_jwt_auth(settings: Settings) -> JWTAuth[User, AccessToken]:
    return JWTAuth[User, AccessToken](
        token_cls=AccessToken,
        retrieve_user_handler=retrieve_user,
        token_secret=derive_key(settings.secret_key, "jwt-access"),
        algorithm="HS256",
        default_token_expiration=timedelta(minutes=settings.access_token_minutes),
        accepted_issuers=["echoel"],
        accepted_audiences=["echoel-api"],
        require_claims=["exp", "iat", "jti", "sub"],
        exclude=PUBLIC_PATHS,
        exclude_opt_key="public",
    )


def requires_role(role: str):  # type: ignore[no-untyped-def]
    """A guard: the signed-in user holds ``role`` or a higher one."""

    # async: Litestar runs a plain function guard in a worker thread, a hop on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if ROLE_RANK.get(getattr(user, "role", ""), -1) < ROLE_RANK[role]:
            raise PermissionDeniedException(f"This needs the {role} role.")

    return guard
