"""Typed settings, read once from ``ECHOEL_*`` environment variables and validated at start-up.

Every variable is documented in ``.env.example``. Nothing else in the app reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

import msgspec

PREFIX = "ECHOEL_"


class SettingsError(RuntimeError):
    """Raised at start-up when the environment does not describe a valid configuration."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole configuration of one Echoel process."""

    # Where the embedded default keeps its SQLite file, objects and other state.
    var_dir: str = "var"
    # sqlite:///path/to.db or postgresql://user:pass@host:port/db; empty means SQLite in var_dir.
    database_url: str = ""
    # Public base URL the site is reached at (used in links, cookies and Origin checks).
    public_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Migrate on start when running on the embedded default (SQLite). Production runs `echoel migrate`.
    auto_migrate: bool = True
    environment: Literal["development", "production", "test"] = "development"

    # Secrets. In development they may be left empty and are generated once into var_dir.
    secret_key: str = ""
    password_pepper: str = ""

    access_token_minutes: int = 15
    refresh_token_days: int = 30
    bcrypt_rounds: int = 12
    # Threads allowed to hash passwords at once; the rest wait, so hashing never starves requests.
    hash_threads: int = 1
    # Secure cookies need HTTPS; browsers also treat http://localhost as secure.
    cookie_secure: bool = True

    # Failed log-ins (and sign-ups) allowed per client IP and per account in one window.
    auth_max_failures: int = 10
    auth_window_seconds: int = 300
    # Requests per minute per client IP on the auth endpoints (Litestar's rate limiter).
    auth_requests_per_minute: int = 60

    max_body_bytes: int = 1024 * 1024
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def __post_init__(self) -> None:
        if not (4 <= self.bcrypt_rounds <= 31):
            raise ValueError("bcrypt_rounds must be between 4 and 31")
        if self.environment == "production" and self.bcrypt_rounds < 12:
            raise ValueError("bcrypt_rounds must be at least 12 in production")
        if not (1 <= self.access_token_minutes <= 15):
            raise ValueError("access_token_minutes must be between 1 and 15")
        if self.hash_threads < 1 or self.workers < 1:
            raise ValueError("hash_threads and workers must be at least 1")
        if self.environment == "production" and (len(self.secret_key) < 32 or len(self.password_pepper) < 32):
            raise ValueError("secret_key and password_pepper must be set (32+ characters) in production")

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_path / 'echoel.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite:")


def _secret(var_dir: Path, name: str) -> str:
    """A development secret generated once and kept in var_dir, so restarts keep sessions valid."""
    path = var_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment; raise SettingsError naming the bad variable."""
    env = os.environ if environ is None else environ
    raw = {k[len(PREFIX) :].lower(): v for k, v in env.items() if k.startswith(PREFIX) and v != ""}
    known = set(Settings.__struct_fields__)
    unknown = sorted(PREFIX + k.upper() for k in raw if k not in known)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)} (see .env.example)")
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc))) from None
    if not settings.secret_key or not settings.password_pepper:
        settings = msgspec.structs.replace(
            settings,
            secret_key=settings.secret_key or _secret(settings.var_path, "secret_key"),
            password_pepper=settings.password_pepper or _secret(settings.var_path, "password_pepper"),
        )
    return settings


def _explain(message: str) -> str:
    # msgspec says "... - at `$.port`"; name the environment variable instead.
    if " - at `$." in message:
        text, _, path = message.partition(" - at `$.")
        return f"{PREFIX}{path.rstrip('`').upper()}: {text}"
    return f"invalid settings: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
