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


AS_REPORT = "SET ROLE echoel_report; "
VIEWS = (
    "signups_daily",
    "accounts_by_role",
    "creators",
    "creator_catalog",
    "uploads_daily",
    "sales_daily",
    "torrent_bytes",
)


def as_report(server: PostgresServer, database: str, sql: str) -> str:
    """``sql`` run as echoel_report (a NOLOGIN role: the superuser connects and takes it on)."""
    out = psql(server, database, server.user, sql=AS_REPORT + sql)
    return out.removeprefix("SET\n")  # psql's tag for the SET ROLE


def test_report_role_reads_every_view_and_no_table(postgres: PostgresServer, provisioned: str) -> None:
    for view in VIEWS:
        assert as_report(postgres, provisioned, f"SELECT count(*) FROM reporting.{view}").strip().isdigit(), view
    for table in ("users", "listings", "listing_files", "uploads", "orders", "ledger_entries", "torrents"):
        with pytest.raises(PermissionError, match="permission denied"):
            as_report(postgres, provisioned, f"SELECT * FROM public.{table} LIMIT 1")


def test_app_role_cannot_change_what_the_report_role_sees(postgres: PostgresServer, provisioned: str) -> None:
    """The app role reads every table; were it able to redefine a view, a dashboard login would
    read whatever the app can (password hashes included). Views are the owner's DDL alone."""
    for ddl in (
        "CREATE OR REPLACE VIEW reporting.creators AS SELECT id, email AS handle, password_hash AS display_name,"
        " created_at FROM public.users",
        "CREATE VIEW reporting.leak AS SELECT password_hash FROM public.users",
        "DROP VIEW reporting.sales_daily",
        "GRANT echoel_app TO echoel_report",
    ):
        with pytest.raises(PermissionError, match=r"must be owner|permission denied|must have admin option"):
            psql(postgres, provisioned, "echoel_app", sql=ddl)
    with pytest.raises(PermissionError, match='column "email" does not exist'):
        as_report(postgres, provisioned, "SELECT email FROM reporting.creators")


def test_domain_views_add_up_the_rows(postgres: PostgresServer, provisioned: str) -> None:
    ids = {name: uuid.uuid4() for name in ("user", "listing", "version", "file", "torrent")}
    day = 1_700_000_000  # 2023-11-14 22:13:20 UTC
    psql(postgres, provisioned, "echoel_app", sql=SEED.format(day=day, **ids))
    catalog = as_report(
        postgres,
        provisioned,
        "SELECT handle, listings, published, drafts, files, stored_bytes, uploads_completed, uploads_rejected,"
        " uploads_aborted, uploaded_bytes FROM reporting.creator_catalog",
    )
    assert catalog.strip() == "maker|2|1|1|1|1000|1|1|0|1000"
    uploads = as_report(
        postgres, provisioned, "SELECT day, state, uploads, bytes FROM reporting.uploads_daily ORDER BY 2"
    )
    assert uploads.split() == ["2023-11-14|completed|1|1000", "2023-11-14|rejected|1|10"]
    sales = as_report(
        postgres,
        provisioned,
        "SELECT day, handle, currency, sales, gross, refunded, commission, fees, net FROM reporting.sales_daily",
    )
    assert sales.strip() == "2023-11-14|maker|EUR|2|2500|400|630|50|1470"
    torrents = as_report(
        postgres,
        provisioned,
        "SELECT title, version, total_size, p2p_bytes, http_bytes, p2p_share FROM reporting.torrent_bytes",
    )
    assert torrents.strip() == "Big Pack|1.0|1000|3000|1000|0.7500"


# One creator with a published listing (one file, one completed and one rejected upload), a
# draft, two sales in EUR and a partial refund, and the pack's torrent. Run as echoel_app.
SEED = """
INSERT INTO users (id, email, handle, password_hash, role, token_generation, display_name, bio)
  VALUES ('{user}', 'maker@example.com', 'maker', 'x', 'creator', 0, 'Maker', '');
INSERT INTO listings (id, creator, slug, kind, title, status, created_at, updated_at)
  VALUES ('{listing}', '{user}', 'big-pack', 'sample_pack', 'Big Pack', 'published', {day}, {day}),
         (gen_random_uuid(), '{user}', 'draft', 'preset_bank', 'Draft', 'draft', {day}, {day});
INSERT INTO listing_versions (id, listing, label, published, created_at)
  VALUES ('{version}', '{listing}', '1.0', true, {day});
INSERT INTO listing_files (id, listing, version, object_key, original_name, size, content_type, role, status,
                           created_at)
  VALUES ('{file}', '{listing}', '{version}', 'listings/a/pack.zip', 'pack.zip', 1000, 'application/zip', 'file',
          'ready', {day});
INSERT INTO uploads (id, "user", listing, version, object_key, original_name, size, content_type, role, state,
                     created_at)
  VALUES (gen_random_uuid(), '{user}', '{listing}', '{version}', 'listings/a/pack.zip', 'pack.zip', 1000,
          'application/zip', 'file', 'completed', {day}),
         (gen_random_uuid(), '{user}', '{listing}', '{version}', 'listings/a/bad.zip', 'bad.zip', 10,
          'application/zip', 'file', 'rejected', {day});
INSERT INTO ledger_entries (id, entry_key, creator, "order", kind, currency, gross, fee, commission, net, created_at)
  VALUES (gen_random_uuid(), 'sale:1', '{user}', gen_random_uuid(), 'sale', 'EUR', 1500, 30, 450, 1050, {day}),
         (gen_random_uuid(), 'sale:2', '{user}', gen_random_uuid(), 'sale', 'EUR', 1000, 20, 300, 700, {day}),
         (gen_random_uuid(), 'refund:2', '{user}', gen_random_uuid(), 'refund', 'EUR', -400, 0, -120, -280, {day});
INSERT INTO torrents (id, listing_id, version_id, name, status, total_size, p2p_bytes, http_bytes)
  VALUES ('{torrent}', '{listing}', '{version}', 'Big Pack', 'ready', 1000, 3000, 1000);
"""


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
