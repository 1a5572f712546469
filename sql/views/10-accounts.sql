-- Reporting views over accounts (apply after `echoel migrate`, as echoel_owner; idempotent).
-- Only aggregates and non-secret columns: no e-mail addresses, hashes or tokens.
\set ON_ERROR_STOP on

-- New accounts per day and role.
CREATE OR REPLACE VIEW reporting.signups_daily AS
SELECT date_trunc('day', created_at)::date AS day, role, count(*) AS signups
FROM public.users
GROUP BY 1, 2;

-- Accounts by role, with the newest sign-up in each.
CREATE OR REPLACE VIEW reporting.accounts_by_role AS
SELECT role, count(*) AS accounts, max(created_at) AS newest
FROM public.users
GROUP BY role;

-- Creators, by public handle, with when they joined.
CREATE OR REPLACE VIEW reporting.creators AS
SELECT id, handle, display_name, created_at
FROM public.users
WHERE role IN ('creator', 'admin');
