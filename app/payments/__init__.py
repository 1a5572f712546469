"""Payments: Stripe Checkout, webhooks that fulfil exactly once, ledger, payouts, codes, licenses."""
