"""Account rules: sign-up, log-in, refresh-token rotation, log-out, password and profile."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from litestar.security.jwt import JWTAuth
from msgspec import UNSET

from app.accounts.auth import AccessToken
from app.accounts.schemas import ChangePasswordRequest, ProfileUpdate, SignupRequest
from app.accounts.tables import RefreshToken, User
from app.accounts.throttle import Throttle
from app.core.db import now, write_transaction
from app.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from app.core.security import PasswordHasher, new_token, token_digest
from app.core.settings import Settings
from app.search import outbox as search_outbox
from app.search.documents import published_listings

log = logging.getLogger("echoel.accounts")

WRONG_CREDENTIALS = "The email or password is wrong."
BAD_REFRESH = "Your session has ended; log in again."


@dataclass(frozen=True)
class Session:
    """What a successful log-in or refresh hands back."""

    user: User
    access_token: str
    refresh_token: str


class AccountService:
    def __init__(self, settings: Settings, hasher: PasswordHasher, jwt: JWTAuth[User, AccessToken]) -> None:
        self.settings = settings
        self.hasher = hasher
        self.jwt = jwt
        self.throttle = Throttle(settings.auth_max_failures, settings.auth_window_seconds)

    # --- sign-up and log-in -------------------------------------------------------------

    async def signup(self, data: SignupRequest, client_ip: str) -> None:
        """Create the account unless the email is taken; either way answer the same.

        A taken handle is reported (handles are public), a taken email is not: the caller
        cannot learn whether an address has an account here.
        """
        email, handle = data.email.strip().lower(), data.handle.lower()
        keys = (f"signup-ip:{client_ip}", f"signup-account:{_key(email)}")
        await self.throttle.check(*keys)
        await self.throttle.hit(*keys)
        if await User.exists().where(User.handle == handle):
            raise Conflict("That handle is taken; choose another.", field="handle")
        # Hashed whether or not the email is taken, so both answers take as long.
        password_hash = await self.hasher.hash(data.password)
        if await User.exists().where(User.email == email):
            log.info("sign-up for an existing email; answered as accepted")
            return
        try:
            await User.insert(
                User(email=email, handle=handle, display_name=data.display_name or handle, password_hash=password_hash)
            )
        except Exception as exc:  # a concurrent sign-up took the handle or email between check and insert
            if await User.exists().where(User.handle == handle):
                raise Conflict("That handle is taken; choose another.", field="handle") from exc
            if not await User.exists().where(User.email == email):
                raise

    async def login(self, email: str, password: str, client_ip: str) -> Session:
        email = email.strip().lower()
        keys = (f"login-ip:{client_ip}", f"login-account:{_key(email)}")
        await self.throttle.check(*keys)
        user = await User.objects().where(User.email == email).first()
        # verify() spends one bcrypt even for unknown emails, so timing tells nothing either.
        if not await self.hasher.verify(password, user.password_hash if user else None) or user is None:
            await self.throttle.hit(*keys)
            raise Unauthorized(WRONG_CREDENTIALS)
        await self.throttle.clear(keys[1])
        return await self._open_session(user, family=uuid.uuid4())

    # --- refresh tokens -----------------------------------------------------------------

    async def refresh(self, raw_token: str) -> Session:
        """Rotate: the presented token is spent and a new one of the same family is issued.

        Presenting a spent token again means it was copied: the whole family is revoked, so
        both the thief and the owner must log in again. Within ``refresh_reuse_seconds`` of the
        rotation it is taken for a lost answer instead, and the family gets one more token.
        """
        t = now()
        row = await RefreshToken.objects().where(RefreshToken.token_hash == token_digest(raw_token)).first()
        if row is None or row.revoked_at is not None or row.expires_at <= t:
            raise Unauthorized(BAD_REFRESH)
        # Spend it atomically: of two concurrent uses, exactly one wins.
        spent = (
            await RefreshToken.update({RefreshToken.used_at: t})
            .where(RefreshToken.id == row.id, RefreshToken.used_at.is_null(), RefreshToken.revoked_at.is_null())
            .returning(RefreshToken.id)
        )
        if not spent and not await self._just_rotated(row.id, t):
            await self.revoke_family(row.family)
            log.warning("refresh token replayed; family %s revoked", row.family)
            raise Unauthorized(BAD_REFRESH)
        user = await User.objects().where(User.id == row.user).first()
        if user is None:
            raise Unauthorized(BAD_REFRESH)
        return await self._open_session(user, family=row.family)

    async def _just_rotated(self, token_id: uuid.UUID, t: int) -> bool:
        row = (
            await RefreshToken.select(RefreshToken.used_at, RefreshToken.revoked_at)
            .where(RefreshToken.id == token_id)
            .first()
        )
        grace = self.settings.refresh_reuse_seconds
        return row is not None and row["revoked_at"] is None and t - (row["used_at"] or t) < grace

    async def revoke_family(self, family: uuid.UUID) -> None:
        await RefreshToken.update({RefreshToken.revoked_at: now()}).where(
            RefreshToken.family == family, RefreshToken.revoked_at.is_null()
        )

    async def logout(self, raw_token: str | None) -> None:
        """End this device's session. An unknown token is fine: the goal state already holds."""
        if not raw_token:
            return
        row = await RefreshToken.objects().where(RefreshToken.token_hash == token_digest(raw_token)).first()
        if row is not None:
            await self.revoke_family(row.family)

    async def logout_everywhere(self, user: User) -> None:
        """Revoke every refresh family and every access token issued until now."""
        await RefreshToken.update({RefreshToken.revoked_at: now()}).where(
            RefreshToken.user == user.id, RefreshToken.revoked_at.is_null()
        )
        await User.update({User.token_generation: User.token_generation + 1}).where(User.id == user.id)

    async def _open_session(self, user: User, family: uuid.UUID) -> Session:
        raw = new_token()
        await RefreshToken.insert(
            RefreshToken(
                user=user.id,
                family=family,
                token_hash=token_digest(raw),
                expires_at=now() + self.settings.refresh_token_days * 86400,
            )
        )
        return Session(user=user, access_token=self.access_token(user), refresh_token=raw)

    def access_token(self, user: User) -> str:
        return self.jwt.create_token(
            identifier=str(user.id),
            token_expiration=timedelta(minutes=self.settings.access_token_minutes),
            token_issuer="echoel",  # noqa: S106 - a claim value, not a secret
            token_audience="echoel-api",  # noqa: S106 - a claim value, not a secret
            token_unique_jwt_id=uuid.uuid4().hex,
            typ="access",
            gen=user.token_generation,
        )

    # --- own account --------------------------------------------------------------------

    async def change_password(self, user: User, data: ChangePasswordRequest) -> Session:
        """Change the password and end every other session; this device gets a fresh one."""
        if not await self.hasher.verify(data.current_password, user.password_hash):
            raise InvalidInput("The current password is wrong.", field="current_password")
        new_hash = await self.hasher.hash(data.new_password)
        await User.update({User.password_hash: new_hash}).where(User.id == user.id)
        await self.logout_everywhere(user)
        fresh = await User.objects().where(User.id == user.id).first()
        assert fresh is not None
        return await self._open_session(fresh, family=uuid.uuid4())

    async def update_profile(self, user: User, data: ProfileUpdate) -> User:
        values: dict[object, object] = {}
        if data.display_name is not UNSET:
            values[User.display_name] = data.display_name
        if data.bio is not UNSET:
            values[User.bio] = data.bio
        if data.handle is not UNSET and data.handle.lower() != user.handle:
            handle = data.handle.lower()
            if await User.exists().where(User.handle == handle):
                raise Conflict("That handle is taken; choose another.", field="handle")
            values[User.handle] = handle
        if values:
            async with write_transaction(User._meta.db):
                await User.update(values).where(User.id == user.id)  # type: ignore[arg-type]
                if User.handle in values or User.display_name in values:
                    # Search documents carry the creator's handle and name (facet and text):
                    # their listings are re-indexed, the outbox rows committing with the change.
                    await search_outbox.note_many(await published_listings(user.id))
        return await self.get(user.id)

    async def get(self, user_id: uuid.UUID) -> User:
        user = await User.objects().where(User.id == user_id).first()
        if user is None:
            raise NotFound("No such account.")
        return user

    async def set_role(self, handle: str, role: str) -> User:
        user = await User.objects().where(User.handle == handle.lower()).first()
        if user is None:
            raise NotFound("No account has that handle.")
        await User.update({User.role: role}).where(User.id == user.id)
        return await self.get(user.id)

    async def become_creator(self, user: User) -> User:
        if user.role == "member":
            await User.update({User.role: "creator"}).where(User.id == user.id)
        return await self.get(user.id)

    async def create_admin(self, email: str, handle: str, password: str) -> User:
        """Create an admin, or promote the existing account with that email (CLI)."""
        email = email.strip().lower()
        existing = await User.objects().where(User.email == email).first()
        if existing is not None:
            await User.update({User.role: "admin"}).where(User.id == existing.id)
            return await self.get(existing.id)
        user = User(email=email, handle=handle.lower(), display_name=handle, role="admin")
        user.password_hash = await self.hasher.hash(password)
        await User.insert(user)
        return user


def _key(email: str) -> str:
    # Throttle keys hold a digest, not the address itself.
    return token_digest(email)[:32]
