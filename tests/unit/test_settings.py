"""Settings are read from ECHOEL_* once and refused with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.settings import SettingsError, load_settings


def test_defaults_and_generated_dev_secrets(tmp_path: Path) -> None:
    s = load_settings({"ECHOEL_VAR_DIR": str(tmp_path)})
    assert s.db_url == f"sqlite:///{tmp_path / 'echoel.db'}"
    assert s.bcrypt_rounds == 12
    assert s.access_token_minutes == 15
    assert len(s.secret_key) >= 32
    # Generated once and kept, so a restart does not sign everyone out.
    assert load_settings({"ECHOEL_VAR_DIR": str(tmp_path)}).secret_key == s.secret_key


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ECHOEL_PORT": "eighty"}, "ECHOEL_PORT"),
        ({"ECHOEL_WORKERS": "0"}, "workers"),
        ({"ECHOEL_WEBSEED_ACCEL_PREFIX": "_echoel_seed"}, "webseed_accel_prefix"),
        ({"ECHOEL_ACCESS_TOKEN_MINUTES": "60"}, "access_token_minutes"),
        ({"ECHOEL_TYPO_SETTING": "1"}, "ECHOEL_TYPO_SETTING"),
        ({"ECHOEL_ENVIRONMENT": "production"}, "secret_key"),
        ({"ECHOEL_ENVIRONMENT": "production", "ECHOEL_BCRYPT_ROUNDS": "10"}, "bcrypt_rounds"),
        ({"ECHOEL_SEARCH": "meili"}, "meili_url"),
        ({"ECHOEL_CURRENCY": "eur"}, "currency"),  # upper case, as listings store it
        ({"ECHOEL_CURRENCY": "XAU"}, "currency"),  # not one payments can be taken in
        (
            {
                "ECHOEL_ENVIRONMENT": "production",
                "ECHOEL_SECRET_KEY": "k" * 32,
                "ECHOEL_PASSWORD_PEPPER": "p" * 32,
                "ECHOEL_SEARCH": "meili",
                "ECHOEL_MEILI_URL": "http://meilisearch:7700",
            },
            "meili_key",
        ),
    ],
)
def test_invalid_settings_are_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"ECHOEL_VAR_DIR": str(tmp_path), **env})
