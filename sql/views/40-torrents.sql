-- Reporting views over torrents (apply after `echoel migrate`, as echoel_owner; idempotent).
-- No metainfo, passkeys or peer addresses.
\set ON_ERROR_STOP on

-- Bytes each pack version's torrent has served to BitTorrent peers and over the HTTP web seed,
-- and the peer-to-peer share: how much bandwidth the swarm saves the VPS.
CREATE OR REPLACE VIEW reporting.torrent_bytes AS
SELECT t.listing_id AS listing,
       l.title,
       l.creator,
       v.label AS version,
       t.private,
       t.total_size,
       t.p2p_bytes,
       t.http_bytes,
       round(t.p2p_bytes::numeric / nullif(t.p2p_bytes + t.http_bytes, 0), 4) AS p2p_share
FROM public.torrents t
LEFT JOIN public.listings l ON l.id = t.listing_id
LEFT JOIN public.listing_versions v ON v.id = t.version_id
WHERE t.status = 'ready';
