-- Reporting views over the catalog (apply after `echoel migrate`, as echoel_owner; idempotent).
-- Counts and sizes only: no object keys, file names or descriptions.
\set ON_ERROR_STOP on

-- Per creator: listings by status, the files they hold in the store, and how their uploads
-- ended. Each figure is aggregated in its own subquery, so no join multiplies another's rows.
CREATE OR REPLACE VIEW reporting.creator_catalog AS
SELECT u.id AS creator,
       u.handle,
       coalesce(l.listings, 0) AS listings,
       coalesce(l.published, 0) AS published,
       coalesce(l.drafts, 0) AS drafts,
       coalesce(f.files, 0) AS files,
       coalesce(f.bytes, 0) AS stored_bytes,
       coalesce(up.completed, 0) AS uploads_completed,
       coalesce(up.rejected, 0) AS uploads_rejected,
       coalesce(up.aborted, 0) AS uploads_aborted,
       coalesce(up.bytes, 0) AS uploaded_bytes
FROM public.users u
LEFT JOIN (
    SELECT creator,
           count(*) AS listings,
           count(*) FILTER (WHERE status = 'published') AS published,
           count(*) FILTER (WHERE status = 'draft') AS drafts
    FROM public.listings
    GROUP BY creator
) l ON l.creator = u.id
LEFT JOIN (
    SELECT o.creator, count(*) AS files, sum(f.size) AS bytes
    FROM public.listing_files f
    JOIN public.listings o ON o.id = f.listing
    WHERE f.status = 'ready'
    GROUP BY o.creator
) f ON f.creator = u.id
LEFT JOIN (
    SELECT "user",
           count(*) FILTER (WHERE state = 'completed') AS completed,
           count(*) FILTER (WHERE state = 'rejected') AS rejected,
           count(*) FILTER (WHERE state = 'aborted') AS aborted,
           coalesce(sum(size) FILTER (WHERE state = 'completed'), 0) AS bytes
    FROM public.uploads
    GROUP BY "user"
) up ON up."user" = u.id
WHERE u.role IN ('creator', 'admin');

-- Uploads per creator and UTC day, by how they ended.
CREATE OR REPLACE VIEW reporting.uploads_daily AS
SELECT (to_timestamp(up.created_at) AT TIME ZONE 'UTC')::date AS day,
       up."user" AS creator,
       u.handle,
       up.state,
       count(*) AS uploads,
       sum(up.size) AS bytes
FROM public.uploads up
JOIN public.users u ON u.id = up."user"
GROUP BY 1, 2, 3, 4;
