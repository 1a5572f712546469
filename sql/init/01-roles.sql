-- Least-privilege roles, created once by the superuser at first start (psql 15+ for \getenv).
--
--   echoel_owner   owns the database, the schema and every table. Only `echoel migrate` (the
--                  compose `migrate` service, DB_OWNER_URL) connects as it: DDL lives here.
--   echoel_app     what the running app, worker and seeder use (ECHOEL_DATABASE_URL): read and
--                  write rows, use sequences, nothing else. It cannot create, alter or drop
--                  tables, so a SQL injection cannot change the schema or drop data wholesale.
--   echoel_report  no login; grant it to a dashboard user: SELECT on the `reporting` views only.
--
-- Privileges on tables created later by migrations come from ALTER DEFAULT PRIVILEGES below,
-- which applies to objects echoel_owner creates, so migrations must run as echoel_owner.
-- Passwords come from the container environment (DB_OWNER_PASSWORD, DB_APP_PASSWORD in .env).
-- Safe to run again: existing roles are kept.
\set ON_ERROR_STOP on
\getenv owner_password DB_OWNER_PASSWORD
\getenv app_password DB_APP_PASSWORD
\if :{?owner_password}
\else
  \warn 'DB_OWNER_PASSWORD is not set'
  \quit
\endif
\if :{?app_password}
\else
  \warn 'DB_APP_PASSWORD is not set'
  \quit
\endif

SELECT format('CREATE ROLE echoel_owner LOGIN PASSWORD %L', :'owner_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'echoel_owner') \gexec
SELECT format('CREATE ROLE echoel_app LOGIN PASSWORD %L', :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'echoel_app') \gexec
SELECT 'CREATE ROLE echoel_report NOLOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'echoel_report') \gexec

-- This database belongs to the owner; nobody else may connect unless granted.
SELECT format('ALTER DATABASE %I OWNER TO echoel_owner', current_database()) \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO echoel_app', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO echoel_report', current_database()) \gexec

ALTER SCHEMA public OWNER TO echoel_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO echoel_app;

ALTER DEFAULT PRIVILEGES FOR ROLE echoel_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO echoel_app;
ALTER DEFAULT PRIVILEGES FOR ROLE echoel_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO echoel_app;
ALTER DEFAULT PRIVILEGES FOR ROLE echoel_owner IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO echoel_app;
-- Tables that already exist (running this on a migrated database) get the same grants.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO echoel_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO echoel_app;

-- Dashboards read views in their own schema, never the tables (no password hashes, no tokens).
CREATE SCHEMA IF NOT EXISTS reporting AUTHORIZATION echoel_owner;
REVOKE ALL ON SCHEMA reporting FROM PUBLIC;
GRANT USAGE ON SCHEMA reporting TO echoel_report, echoel_app;
ALTER DEFAULT PRIVILEGES FOR ROLE echoel_owner IN SCHEMA reporting
    GRANT SELECT ON TABLES TO echoel_report, echoel_app;
