"""sql/: extensions, least-privilege roles and reporting views on a real PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.services.binaries import REPO_ROOT
from tests.services.postgres import PostgresServer, provision_database, psql
from tests.support import run_cli, test_env

SQL = REPO_ROOT / "sql"


@pytest.fixture
def provisioned(postgres: PostgresServer, tmp_path: Path) -> str:
    """A database initialised from sql/init, migrated as the owner, with the views applied."""
    name = provision_database(postgres, f"echoel_roles_{uuid.uuid4().hex[:8]}")
    owner_url = f"postgresql://echoel_owner@127.0.0.1:{postgres.port}/{name}"
    migrated = run_cli(["migrate"], test_env(owner_url, tmp_path))
    assert migrated.returncode == 0, migrated.stderr
    for script in sorted((SQL / "views").glob("*.sql")):
        psql(postgres, name, "echoel_owner", file=script)
    return name


def test_extensions_are_installed(postgres: PostgresServer, provisioned: str) -> None:
    names = psql(postgres, provisioned, "echoel_app", sql="SELECT extname FROM pg_extension").split()
    assert {"pg_trgm", "unaccent", "citext"} <= set(names)
    assert psql(postgres, provisioned, "echoel_app", sql="SELECT unaccent('Beyoncé')").strip() == "Beyonce"


def test_app_role_reads_and_writes_rows_but_no_ddl(postgres: PostgresServer, provisioned: str) -> None:
    app = "echoel_app"
    psql(
        postgres,
        provisioned,
        app,
        sql="INSERT INTO users (id, email, handle, password_hash, role, token_generation, display_name, bio)"
        " VALUES (gen_random_uuid(), 'a@example.com', 'alice', 'x', 'creator', 0, 'Alice', '')",
    )
    assert psql(postgres, provisioned, app, sql="SELECT count(*) FROM users").strip() == "1"
    for ddl in (
        "CREATE TABLE evil (id int)",
        "DROP TABLE users",
        "ALTER TABLE users ADD COLUMN x int",
        "TRUNCATE users",
        "CREATE EXTENSION IF NOT EXISTS hstore",
    ):
        with pytest.raises(PermissionError):
            psql(postgres, provisioned, app, sql=ddl)
    assert psql(postgres, provisioned, app, sql="SELECT count(*) FROM users").strip() == "1"
    # Rows counted by the reporting views the dashboards read.
    rows = psql(postgres, provisioned, app, sql="SELECT role, accounts FROM reporting.accounts_by_role")
    assert rows.strip() == "creator|1"


def test_report_role_sees_views_only(postgres: PostgresServer, provisioned: str) -> None:
    as_report = "SET ROLE echoel_report; "
    out = psql(postgres, provisioned, postgres.user, sql=as_report + "SELECT count(*) FROM reporting.signups_daily")
    assert out.split()[-1].isdigit()
    with pytest.raises(PermissionError):
        psql(postgres, provisioned, postgres.user, sql=as_report + "SELECT password_hash FROM public.users")


def test_roles_script_is_idempotent(postgres: PostgresServer, provisioned: str) -> None:
    psql(postgres, provisioned, postgres.user, file=SQL / "init" / "01-roles.sql")
    assert psql(postgres, provisioned, "echoel_app", sql="SELECT count(*) FROM users").strip() == "0"


def test_app_runs_as_the_dml_only_role(postgres: PostgresServer, provisioned: str, tmp_path: Path) -> None:
    app_url = f"postgresql://echoel_app@127.0.0.1:{postgres.port}/{provisioned}"
    env = test_env(app_url, tmp_path, ECHOEL_AUTO_MIGRATE="false")
    made = run_cli(
        ["create-admin", "--email", "ops@example.com", "--handle", "ops", "--password-stdin"], env, "a long password"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert psql(postgres, provisioned, "echoel_app", sql="SELECT role FROM users").strip() == "admin"
