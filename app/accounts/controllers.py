"""HTTP for accounts: translate requests into AccountService calls, nothing more."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from msgspec import UNSET

from app.accounts.auth import requires_role
from app.accounts.schemas import (
    Account,
    ChangePasswordRequest,
    LoginRequest,
    ProfileUpdate,
    RefreshRequest,
    RoleUpdate,
    SignupAccepted,
    SignupRequest,
    TokenPair,
    to_account,
)
from app.accounts.services import AccountService, Session
from app.accounts.tables import User
from app.core.errors import Unauthorized, problem
from app.core.http import NO_STORE, client_ip
from app.core.settings import Settings

REFRESH_COOKIE = "echoel_refresh"
COOKIE_PATH = "/api/v1/auth"
# Routes authenticated by the refresh cookie (ambient authority) need the CSRF header.
CSRF_CHECKED = {"exclude_from_csrf": False}


def provide_accounts(request: Request[Any, Any, Any]) -> AccountService:
    service: AccountService = request.app.state.accounts
    return service


def _pair(session: Session, settings: Settings, *, in_body: bool) -> TokenPair:
    return TokenPair(
        access_token=session.access_token,
        expires_in=settings.access_token_minutes * 60,
        account=to_account(session.user),
        refresh_token=session.refresh_token if in_body else UNSET,
    )


def _refresh_cookie(settings: Settings, value: str = "") -> Cookie:
    """The refresh-token cookie; an empty value clears it."""
    return Cookie(
        key=REFRESH_COOKIE,
        value=value,
        path=COOKIE_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        max_age=settings.refresh_token_days * 86400 if value else 0,
    )


def _with_cookie(pair: TokenPair, session: Session, settings: Settings) -> Response[TokenPair]:
    return Response(pair, cookies=[_refresh_cookie(settings, session.refresh_token)], headers=NO_STORE)


class AuthController(Controller):
    """Sign-up, log-in, refresh and log-out."""

    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @post("/signup", status_code=HTTP_202_ACCEPTED)
    async def signup(
        self, request: Request[Any, Any, Any], data: JSONBody[SignupRequest], accounts: NamedDependency[AccountService]
    ) -> SignupAccepted:
        await accounts.signup(data, client_ip(request))
        return SignupAccepted()

    @post("/login", status_code=HTTP_200_OK)
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest], accounts: NamedDependency[AccountService]
    ) -> Response[TokenPair]:
        session = await accounts.login(data.email, data.password, client_ip(request))
        if data.refresh_in_body:
            return Response(_pair(session, accounts.settings, in_body=True), headers=NO_STORE)
        return _with_cookie(_pair(session, accounts.settings, in_body=False), session, accounts.settings)

    @get("/csrf", status_code=HTTP_204_NO_CONTENT, opt=CSRF_CHECKED)
    async def csrf(self) -> None:
        """Sets the CSRF cookie the web front end echoes in the X-CSRF-Token header."""

    @post("/refresh", status_code=HTTP_200_OK, opt=CSRF_CHECKED)
    async def refresh_cookie(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[Any]:
        try:
            session = await accounts.refresh(request.cookies.get(REFRESH_COOKIE, ""))
        except Unauthorized as exc:
            # A dead cookie is cleared so the browser stops sending it.
            response = problem(401, exc.title, exc.detail, headers={"WWW-Authenticate": "Bearer"})
            response.set_cookie(_refresh_cookie(accounts.settings))
            return response
        return _with_cookie(_pair(session, accounts.settings, in_body=False), session, accounts.settings)

    @post("/token/refresh", status_code=HTTP_200_OK)
    async def refresh_body(
        self, data: JSONBody[RefreshRequest], accounts: NamedDependency[AccountService]
    ) -> Response[TokenPair]:
        session = await accounts.refresh(data.refresh_token)
        return Response(_pair(session, accounts.settings, in_body=True), headers=NO_STORE)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, opt=CSRF_CHECKED)
    async def logout(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[None]:
        await accounts.logout(request.cookies.get(REFRESH_COOKIE))
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[_refresh_cookie(accounts.settings)])

    @post("/token/revoke", status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, data: JSONBody[RefreshRequest], accounts: NamedDependency[AccountService]) -> None:
        await accounts.logout(data.refresh_token)


class AccountController(Controller):
    """The signed-in user's own account."""

    path = "/api/v1/account"
    tags = ["account"]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @get("/", response_headers=NO_STORE)
    async def me(self, request: Request[User, Any, Any]) -> Account:
        return to_account(request.user)

    @patch("/")
    async def update(
        self, request: Request[User, Any, Any], data: JSONBody[ProfileUpdate], accounts: NamedDependency[AccountService]
    ) -> Account:
        return to_account(await accounts.update_profile(request.user, data))

    @post("/password", status_code=HTTP_200_OK)
    async def change_password(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[ChangePasswordRequest],
        accounts: NamedDependency[AccountService],
    ) -> Response[TokenPair]:
        session = await accounts.change_password(request.user, data)
        return _with_cookie(_pair(session, accounts.settings, in_body=False), session, accounts.settings)

    @post("/creator", status_code=HTTP_200_OK)
    async def become_creator(
        self, request: Request[User, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Account:
        """Members open a storefront by becoming creators; admins stay admins."""
        return to_account(await accounts.become_creator(request.user))

    @post("/logout-everywhere", status_code=HTTP_204_NO_CONTENT)
    async def logout_everywhere(
        self, request: Request[User, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[None]:
        await accounts.logout_everywhere(request.user)
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[_refresh_cookie(accounts.settings)])


class AdminAccountsController(Controller):
    path = "/api/v1/admin/accounts"
    tags = ["admin"]
    guards = [requires_role("admin")]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @put("/{handle:str}/role")
    async def set_role(
        self, handle: FromPath[str], data: JSONBody[RoleUpdate], accounts: NamedDependency[AccountService]
    ) -> Account:
        return to_account(await accounts.set_role(handle, data.role))
