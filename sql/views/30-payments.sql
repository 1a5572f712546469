-- Reporting views over payments (apply after `echoel migrate`, as echoel_owner; idempotent).
-- From the creators' ledger: money in integer minor units, per currency, never summed across.
\set ON_ERROR_STOP on

-- Sales per creator, UTC day and currency. Refunds and lost disputes are negative ledger
-- entries on the day they happened: `refunded` is their total, `net` what the creator keeps
-- after commission and refunds (before Stripe's fee, which `fees` shows).
CREATE OR REPLACE VIEW reporting.sales_daily AS
SELECT (to_timestamp(e.created_at) AT TIME ZONE 'UTC')::date AS day,
       e.creator,
       u.handle,
       e.currency,
       count(*) FILTER (WHERE e.kind = 'sale') AS sales,
       coalesce(sum(e.gross) FILTER (WHERE e.kind = 'sale'), 0) AS gross,
       coalesce(-sum(e.gross) FILTER (WHERE e.kind <> 'sale'), 0) AS refunded,
       sum(e.commission) AS commission,
       sum(e.fee) AS fees,
       sum(e.net) AS net
FROM public.ledger_entries e
JOIN public.users u ON u.id = e.creator
GROUP BY 1, 2, 3, 4;
