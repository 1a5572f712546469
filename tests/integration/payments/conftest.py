"""Payments fixtures: the app on the embedded storage with Stripe pointed at stripe-mock."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.settings import Settings
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.services.stripe_mock import TEST_API_KEY
from tests.support import test_settings

WEBHOOK_SECRET = "whsec_test_" + "s" * 32


def stripe_env(stripe_mock: PaidStripeMock, **extra: str) -> dict[str, str]:
    return {
        "ECHOEL_STORAGE": "local",
        "ECHOEL_STRIPE_SECRET_KEY": TEST_API_KEY,
        "ECHOEL_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ECHOEL_STRIPE_API_BASE": stripe_mock.url,
        "ECHOEL_JOBS_POLL_SECONDS": "0.1",
        **extra,
    }


@pytest.fixture
def settings(db_url: str, var_dir: Path, stripe_mock: PaidStripeMock) -> Settings:
    return test_settings(db_url, var_dir, **stripe_env(stripe_mock))
