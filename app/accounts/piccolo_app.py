"""Piccolo app registration for accounts (tables and their migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.accounts.tables import AuthThrottle, RefreshToken, User

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[User, RefreshToken, AuthThrottle],
    migration_dependencies=[],
    commands=[],
)
