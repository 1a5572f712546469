"""The ``echoel`` command: run, migrate, create-admin."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import os
import sys

from app.core.settings import SettingsError, get_settings


def _migrate(*, quiet: bool = False) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    # Piccolo's migration runner finds its engine through PICCOLO_CONF.
    os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
    settings = get_settings()

    async def go() -> None:
        from app.core import db
        from app.search.backends import database_backend
        from app.search.services import SearchService

        async with db.connected(db.make_engine(settings.db_url)) as engine:
            # Piccolo narrates every app; on `run` one line of ours is enough.
            with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
                result = await run_forwards(app_name="all")
            if not result.success:
                raise SystemExit(f"migration failed: {result.message}")
            # The database search index lives in tables Piccolo's migrations cannot express
            # (FTS5, tsvector/trigram indexes); they are created here, by the owner role.
            backend = database_backend(engine)
            if await backend.ensure_index():
                await SearchService(backend).reindex()

    asyncio.run(go())


def cmd_migrate(_: argparse.Namespace) -> None:
    _migrate()
    print("database is up to date")


def cmd_run(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    if settings.is_sqlite and settings.auto_migrate:
        _migrate(quiet=True)
        print(f"database ready: {settings.db_url}")
    host, port = args.host or settings.host, args.port or settings.port
    workers = args.workers or settings.workers
    shown = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host  # noqa: S104 - a comparison, not a bind
    print(f"\nEchoel is running at http://{shown}:{port}/  (Ctrl+C stops it)\n", flush=True)
    uvicorn.run(
        "app.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        # Only nginx on this host may tell us the client address (X-Forwarded-For).
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level=settings.log_level,
        access_log=False,
        # Websocket frames over 128 KiB are refused before they are buffered (uvicorn's default
        # is 16 MiB); signaling itself allows 64 KiB per message (app.collab.messages).
        ws_max_size=128 * 1024,
        # No permessage-deflate: each compressed socket keeps two zlib contexts (most of its
        # memory), and signaling's small messages spent more CPU on (de)compressing than on relaying.
        ws_per_message_deflate=False,
    )


def cmd_create_admin(args: argparse.Namespace) -> None:
    from app.asgi import create_app

    # --password-stdin lets scripts pipe the password in without it showing in `ps` or history.
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password for the admin: ")
    if len(password) < 8:
        raise SystemExit("the password needs at least 8 characters")
    app = create_app()

    async def go() -> None:
        from app.core import db

        # Only the database: the app's start-up (job worker, seeder, schedules) is not needed here.
        async with db.connected(app.state.engine):
            user = await app.state.accounts.create_admin(args.email, args.handle, password)
            print(f"admin ready: {user.handle} <{user.email}>")

    asyncio.run(go())


def cmd_worker(args: argparse.Namespace) -> None:
    import msgspec

    from app.asgi import create_app
    from app.jobs.cli import run_worker

    # This process is the worker: the app's own in-process worker stays off.
    settings = msgspec.structs.replace(get_settings(), jobs_in_process=False)
    asyncio.run(run_worker(create_app(settings), settings, args.concurrency))


def cmd_seeder(_: argparse.Namespace) -> None:
    from app.torrents.seeder import run_seeder

    asyncio.run(run_seeder(get_settings()))


def cmd_cleanup_orphans(args: argparse.Namespace) -> None:
    from app.asgi import create_app
    from app.catalog.cleanup import clean_orphans

    settings = get_settings()
    app = create_app(settings)
    age = settings.orphan_min_age_seconds if args.min_age is None else args.min_age

    async def go() -> None:
        from app.core import db

        async with db.connected(app.state.engine):
            await app.state.storage.ensure_ready()
            report = await clean_orphans(app.state.storage, age)
        print(
            f"aborted {report.multipart_aborted} unfinished multipart uploads, deleted "
            f"{report.objects_deleted} orphan objects, expired {report.uploads_expired} uploads"
        )

    asyncio.run(go())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="echoel", description="Echoel: a creator media platform for musicians.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the app (migrates first on the embedded default)")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--workers", type=int)
    run.set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    orphans = sub.add_parser("cleanup-orphans", help="delete unfinished uploads and unreferenced objects")
    orphans.add_argument("--min-age", type=int, help="seconds (default: ECHOEL_ORPHAN_MIN_AGE_SECONDS)")
    orphans.set_defaults(func=cmd_cleanup_orphans)
    sub.add_parser("seeder", help="seed every published pack over BitTorrent until stopped").set_defaults(
        func=cmd_seeder
    )
    worker = sub.add_parser("worker", help="run background jobs (thumbnails, waveforms, archives) until stopped")
    worker.add_argument("--concurrency", type=int, help="jobs at once (default: ECHOEL_JOBS_CONCURRENCY)")
    worker.set_defaults(func=cmd_worker)
    admin = sub.add_parser("create-admin", help="create an admin account (or promote one by email)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--handle", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=cmd_create_admin)
    from app.search.cli import add_parser as add_reindex

    add_reindex(sub)
    from app.collab.cli import add_parser as add_collab

    add_collab(sub)
    from app.ops.cli import add_ops_commands

    add_ops_commands(sub)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        print(f"echoel: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
