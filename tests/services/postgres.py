"""PostgreSQL from Debian's package: ``initdb`` into a temp dir, served on a free port."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from tests.services.binaries import REPO_ROOT, ServerProcess, find_binary, free_port


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; on CI we are root, so drop to Debian's postgres user.
    if os.geteuid() != 0:
        return command
    return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *command]


class PostgresServer(ServerProcess):
    name = "postgres"
    user = "echoel"

    def _allocate(self) -> None:
        self.port = free_port()

    def _prepare(self) -> None:
        assert self.tmpdir is not None
        data = self.tmpdir / "data"
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmpdir, pw.pw_uid, pw.pw_gid)
        if not data.exists():
            subprocess.run(
                _as_postgres_user(
                    [
                        find_binary("initdb"),
                        "-D",
                        str(data),
                        "-U",
                        self.user,
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                capture_output=True,
            )

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        return _as_postgres_user(
            [
                find_binary("postgres"),
                "-D",
                str(self.tmpdir / "data"),
                "-p",
                str(self.port),
                "-k",
                str(self.tmpdir),
                "-c",
                "listen_addresses=127.0.0.1",
                # Throwaway data: durability off makes the suite faster and changes no behaviour we test.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ]
        )

    def _ready(self) -> bool:
        probe = subprocess.run(
            [find_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres"],
            capture_output=True,
        )
        return probe.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [
                find_binary("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


def psql(server: PostgresServer, database: str, user: str, *, sql: str = "", file: Path | None = None) -> str:
    """Run ``sql`` or ``file`` as ``user``; PermissionError with psql's message when it fails."""
    argv = [find_binary("psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", user, "-d", database]
    argv += ["-v", "ON_ERROR_STOP=1", "-At"] + (["-f", str(file)] if file else ["-c", sql])
    # sql/init/01-roles.sql reads the roles' passwords from the environment (unused: trust auth).
    env = {**os.environ, "DB_OWNER_PASSWORD": "owner-pw-" + "o" * 20, "DB_APP_PASSWORD": "app-pw-" + "a" * 20}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PermissionError(result.stderr.strip())
    return result.stdout


def provision_database(server: PostgresServer, name: str) -> str:
    """Create database ``name`` and run sql/init on it, as compose's first start does; its name.

    The roles echoel_owner (migrations, views) and echoel_app (the running app) are then there.
    """
    server.psql(f'CREATE DATABASE "{name}"')
    for script in sorted((REPO_ROOT / "sql" / "init").glob("*.sql")):
        psql(server, name, server.user, file=script)
    return name
