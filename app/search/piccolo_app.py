"""Piccolo app registration for search (the outbox; index tables are derived data)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.search.tables import SearchOutbox

APP_CONFIG = AppConfig(
    app_name="search",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[SearchOutbox],
    migration_dependencies=[],
    commands=[],
)
