"""The app factory: the one place that lists controllers, plugins, middleware and lifespans."""

from __future__ import annotations

import logging
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.logging import LoggingConfig
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore

from app.accounts.auth import derive_key, make_jwt_auth
from app.accounts.controllers import AccountController, AdminAccountsController, AuthController
from app.accounts.services import AccountService
from app.catalog.controllers import (
    LibraryController,
    ListingController,
    MyStorefrontController,
    StorefrontController,
    UploadController,
)
from app.catalog.services import CatalogService
from app.catalog.storefronts import StorefrontService
from app.catalog.uploads import UploadService
from app.collab import setup as collab
from app.collab.channels import make_channels
from app.core import db
from app.core.errors import EXCEPTION_HANDLERS
from app.core.security import PasswordHasher
from app.core.settings import Settings, get_settings
from app.jobs import InProcessWorker
from app.jobs import configure as configure_jobs
from app.ops.controllers import HealthController, MetaController, MetricsController
from app.ops.metrics import PROMETHEUS
from app.payments import setup as payments
from app.schedules import schedule_periodic
from app.search import setup as search
from app.storage import make_storage
from app.storage.controllers import LocalStorageController
from app.torrents import setup as torrents

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    engine = db.make_engine(settings.db_url)
    rate_limit_dir = settings.var_path / "rate_limit"
    rate_limit_dir.mkdir(parents=True, exist_ok=True)
    jwt_auth = make_jwt_auth(settings)
    storage = make_storage(settings)
    hasher = PasswordHasher(settings.password_pepper, settings.bcrypt_rounds, settings.hash_threads)

    async def open_database() -> None:
        db.bind_tables(engine)
        await db.start(engine)
        await storage.ensure_ready()

    async def scheduled() -> None:
        await schedule_periodic(settings)

    async def close_database() -> None:
        await db.stop(engine)

    # Litestar's limiter counts requests per client IP on the auth routes, in a store every
    # worker process shares (files under var/). Failure counting per account is in accounts.throttle.
    auth_rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.auth_requests_per_minute),
        store="rate_limit",
        # Every page load of a signed-in visitor refreshes its access token; a refresh token is
        # 256 random bits, nothing to guess, so these stay out of the per-address budget.
        exclude=[r"^/api/v1/auth/(refresh|csrf|token/refresh)$"],
    )
    csrf = CSRFConfig(
        secret=derive_key(settings.secret_key, "csrf"),
        cookie_name="echoel_csrf",
        header_name="x-csrf-token",
        cookie_secure=settings.cookie_secure,
        cookie_samesite="strict",
        exclude_from_csrf_key="exclude_from_csrf",
    )
    configure_jobs(settings)
    job_worker = InProcessWorker(settings)
    collab_channels = make_channels(settings)
    app = Litestar(
        route_handlers=[
            HealthController,
            MetaController,
            MetricsController,
            # The local-disk store's signed upload/download endpoints (S3 serves its own).
            *([LocalStorageController] if settings.storage == "local" else []),
            # The limiter wraps only the auth routes.
            Router(path="/", route_handlers=[AuthController], middleware=[auth_rate_limit.middleware]),
            AccountController,
            AdminAccountsController,
            ListingController,
            UploadController,
            StorefrontController,
            MyStorefrontController,
            LibraryController,
            *torrents.ROUTE_HANDLERS,
            *payments.ROUTE_HANDLERS,
            *search.ROUTE_HANDLERS,
            *collab.ROUTE_HANDLERS,
            create_static_files_router(path="/", directories=[STATIC_DIR], html_mode=True, opt={"public": True}),
        ],
        # The job worker starts after the database opens and stops before it closes.
        on_startup=[open_database, scheduled, job_worker.start],
        on_shutdown=[job_worker.stop, close_database],
        on_app_init=[jwt_auth.on_app_init],
        # Request count and latency per route, for /metrics.
        middleware=[PROMETHEUS.middleware],
        # Signaling fan-out between workers (LISTEN/NOTIFY on PostgreSQL; none needed on SQLite).
        plugins=[collab_channels] if collab_channels is not None else [],
        csrf_config=csrf,
        # CSRF applies only where a route opts in (the cookie-authenticated ones): Bearer-token
        # calls carry no ambient authority.
        opt={"exclude_from_csrf": True},
        exception_handlers=EXCEPTION_HANDLERS,
        stores={"rate_limit": FileStore(rate_limit_dir)},
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Echoel API",
            version="1",
            path="/api/schema",
            render_plugins=[ScalarRenderPlugin(path="/docs"), SwaggerRenderPlugin(path="/swagger")],
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level.upper(), "handlers": ["queue_listener"]},
            log_exceptions="never",
        ),
        debug=False,
    )
    job_worker.state = app.state
    app.state.settings = settings
    app.state.engine = engine
    app.state.accounts = AccountService(settings, hasher, jwt_auth)
    app.state.storage = storage
    app.state.catalog = CatalogService(settings, storage)
    app.state.uploads = UploadService(app.state.catalog)
    app.state.storefronts = StorefrontService(storage)
    collab.attach(app, settings, collab_channels)
    torrents.attach(app, settings)
    payments.attach(app, settings)
    search.attach(app, settings)
    logging.getLogger("echoel").setLevel(settings.log_level.upper())
    return app
