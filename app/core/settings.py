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


# Inclusive bounds of numeric settings; a value outside stops the app at start-up.
_INF = float("inf")
_RANGES: dict[str, tuple[float, float]] = {
    "bcrypt_rounds": (4, 31),
    "access_token_minutes": (1, 15),
    "refresh_reuse_seconds": (0, 60),
    "turn_ttl_seconds": (60, 3600),
    "collab_heartbeat_seconds": (0.5, 300),
    "hash_threads": (1, 64),
    "workers": (1, 64),
    "upload_part_bytes": (5 * 1024 * 1024, 64 * 1024 * 1024),  # S3's smallest part; ≤ 64 MiB for Cloudflare
    "upload_single_max_bytes": (1, 5 * 1024**3),
    "download_url_seconds": (1, 300),
    "upload_url_seconds": (60, 7 * 86400),
    "backup_keep": (1, _INF),
    "jobs_concurrency": (1, _INF),
    "jobs_max_attempts": (1, _INF),
    "jobs_lease_seconds": (1, _INF),
    "seeder_cache_bytes": (0, _INF),
}


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
    # A refresh token presented again this soon after its rotation gets another token of its
    # family instead of ending it: a page that navigated away mid-refresh never saw the answer
    # (the reuse interval of Auth0 and Okta's grace period). 0 makes every replay end the family.
    refresh_reuse_seconds: int = 30
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

    # Collaboration: comma-separated STUN and TURN URLs handed to session members, the secret
    # shared with coturn (static-auth-secret) and the lifetime of minted TURN credentials.
    stun_urls: str = ""
    turn_urls: str = ""
    turn_secret: str = ""
    turn_ttl_seconds: int = 3600
    # Extra origins (comma-separated) allowed to open the signaling websocket besides public_url.
    allowed_origins: str = ""
    # Seconds between signaling pings, and between a room's re-checks of membership and expiry.
    collab_heartbeat_seconds: float = 15.0
    max_body_bytes: int = 1024 * 1024

    # Object storage: "local" (files under var_dir, URLs signed and served by the app) or "s3".
    storage: Literal["local", "s3"] = "local"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "echoel"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    # Base URL browsers reach the store at (e.g. https://example.com/s3 through nginx); empty: s3_endpoint.
    s3_public_url: str = ""
    # Files up to this size upload in one presigned POST; larger ones use multipart.
    upload_single_max_bytes: int = 64 * 1024 * 1024
    # Multipart part size (5 MiB..64 MiB: S3's minimum; Cloudflare refuses bodies over 100 MB).
    upload_part_bytes: int = 64 * 1024 * 1024
    upload_max_file_bytes: int = 50 * 1024**3
    # Bytes of uploads one user may hold (pending and ready files together).
    upload_quota_bytes: int = 20 * 1024**3
    # How long a presigned upload (POST policy or part URL) stays valid.
    upload_url_seconds: int = 3600
    # How long a download URL stays valid (at most 300).
    download_url_seconds: int = 300
    # Unfinished uploads and unreferenced objects older than this are removed by the clean-up.
    orphan_min_age_seconds: int = 86400
    # Background jobs (app.jobs): run a worker inside each app process, or only in `echoel worker`.
    jobs_in_process: bool = True
    # Jobs one worker process runs at once.
    jobs_concurrency: int = 2
    # A claimed job is leased this long and the lease renewed while it runs; a crashed worker's
    # job is taken up again once its lease runs out.
    jobs_lease_seconds: float = 60.0
    # How often an idle worker looks for due jobs.
    jobs_poll_seconds: float = 1.0
    # Attempts before a failing job is marked dead (its last error kept).
    jobs_max_attempts: int = 5
    # Retry n waits about backoff * 2**(n-1) seconds (with jitter), at most backoff_max.
    jobs_backoff_seconds: float = 10.0
    jobs_backoff_max_seconds: float = 3600.0
    # Torrents: run the seeder inside the app process (embedded default) or only as `echoel seeder`.
    seeder_in_process: bool = True
    # Address the seeder listens on for BitTorrent peers (TCP); port 0 picks a free one.
    seeder_host: str = "127.0.0.1"
    seeder_port: int = 6881
    # host:port put in magnet links (x.pe=) for peers to reach the seeder; empty: seeder_host:port.
    seeder_public_address: str = ""
    # How often the seeder picks up new torrents, refreshes private-torrent filters and writes stats.
    seeder_refresh_seconds: float = 5.0
    # Disk budget in bytes for the seeder's cache of pack files (var_dir/torrents/data), refilled
    # from object storage on demand. The seeder evicts least-recently-used packs past it; packs in
    # use, being built or being fetched may exceed it for a while. 0: unlimited (never evicts).
    seeder_cache_bytes: int = 20 * 1024**3
    # Base URL the seeder reaches the tracker at; empty: public_url.
    tracker_url: str = ""
    # Seconds between a client's announces; a peer is forgotten after twice that.
    tracker_interval_seconds: int = 300
    # Hours a per-buyer web-seed URL (in a paid pack's .torrent) stays valid.
    webseed_token_hours: int = 168
    # Behind nginx: after its checks the web seed answers `X-Accel-Redirect: <prefix><id>/<path>`
    # and nginx sends the file (with Range) from the seeder's cache, which its internal location
    # aliases; empty (embedded default): the app streams the bytes itself.
    webseed_accel_prefix: str = ""
    # Backups (app.ops.backup): folder for backups (empty: var_dir/backups), hours between
    # scheduled backups run by the job worker (0: off) and how many finished backups to keep.
    backup_dir: str = ""
    backup_interval_hours: float = 0.0
    backup_keep: int = 7
    # Bearer token Prometheus sends to /metrics; empty: /metrics answers anyone who reaches the
    # app port directly (nginx never forwards it), set it when that network is shared.
    metrics_token: str = ""
    # Outbound webhooks (app.ops.webhooks): comma-separated URLs that receive events (sale, new
    # listing, pack published) as Discord-compatible JSON, signed with HMAC-SHA256 of the secret.
    webhook_urls: str = ""
    webhook_secret: str = ""
    # Payments (Stripe). Without a secret key paid checkout answers 503; free listings still work.
    stripe_secret_key: str = ""
    # Signing secret of the webhook endpoint (whsec_...); webhooks are refused without it.
    stripe_webhook_secret: str = ""
    # Stripe API base URL; empty: Stripe's own. Tests point it at stripe-mock.
    stripe_api_base: str = ""
    # Pay creators through Stripe Connect Express (transfers per sale); off: a payout report.
    stripe_connect: bool = False
    # Webhook timestamps further than this from now (past or future) are refused.
    stripe_webhook_tolerance_seconds: int = 300
    # Platform commission in basis points (1/100 of a percent): marketplace sales, and sales
    # that came through the creator's own link.
    commission_marketplace_bps: int = 3000
    commission_direct_bps: int = 1000
    # The store's currency (ISO code): new listings are priced in it unless they say otherwise,
    # and the search page's price range is typed in it.
    currency: str = "USD"
    # Email: "file" writes .eml files under var_dir/mail (embedded default), "smtp" sends.
    mail_backend: Literal["file", "smtp"] = "file"
    mail_from: str = "Echoel <no-reply@localhost>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Search engine: "db" (SQLite FTS5 or PostgreSQL tsvector + pg_trgm) or "meili" (Meilisearch,
    # falling back to "db" while it is down).
    search: Literal["db", "meili"] = "db"
    meili_url: str = ""
    meili_key: str = ""
    meili_index: str = "listings"
    meili_timeout_ms: int = 2000
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def __post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            if not (low <= getattr(self, name) <= high):
                raise ValueError(f"{name} must be between {low} and {high}")
        if self.environment == "production" and self.bcrypt_rounds < 12:
            raise ValueError("bcrypt_rounds must be at least 12 in production")
        if self.environment == "production" and (len(self.secret_key) < 32 or len(self.password_pepper) < 32):
            raise ValueError("secret_key and password_pepper must be set (32+ characters) in production")
        if self.backup_interval_hours < 0:
            raise ValueError("backup_interval_hours must be 0 (off) or more")
        if self.jobs_poll_seconds <= 0:
            raise ValueError("jobs_poll_seconds must be above 0")
        if self.webseed_accel_prefix and not (
            self.webseed_accel_prefix.startswith("/") and self.webseed_accel_prefix.endswith("/")
        ):
            raise ValueError("webseed_accel_prefix must be empty or a path that starts and ends with /")
        self._check_payments()
        self._check_search()

    def _check_search(self) -> None:
        # Misconfigured, Meilisearch would fail every call and the site would quietly run on
        # the fallback for good: say so at start-up instead.
        if self.search == "meili" and not self.meili_url:
            raise ValueError("meili_url must be set when search is meili")
        if self.search == "meili" and self.environment == "production" and not self.meili_key:
            raise ValueError("meili_key must be set when search is meili in production (see .env.example)")

    def _check_payments(self) -> None:
        if not (0 <= self.commission_direct_bps <= 10000 and 0 <= self.commission_marketplace_bps <= 10000):
            raise ValueError("commission_*_bps must be between 0 and 10000")
        if not (1 <= self.stripe_webhook_tolerance_seconds <= 3600):
            raise ValueError("stripe_webhook_tolerance_seconds must be between 1 and 3600")
        from app.payments.money import SUPPORTED  # payments imports settings: not at module level

        if self.currency not in SUPPORTED:
            raise ValueError(f"currency must be an upper-case ISO code payments can be taken in, not {self.currency!r}")

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
