-- Extensions Echoel uses on PostgreSQL, created once by the superuser at first start
-- (docker-entrypoint-initdb.d) because the application roles may not create extensions.
--   pg_trgm   trigram indexes: typo-tolerant search fallback and fast ILIKE on titles and tags
--   unaccent  accent-insensitive search ("Beyonce" finds "Beyoncé")
--   citext    case-insensitive text for e-mail addresses and handles where a migration wants it
\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS citext;
