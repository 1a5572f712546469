"""Piccolo app registration for collaboration sessions."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.collab.tables import CollabSession, SessionInvite, SessionMember

APP_CONFIG = AppConfig(
    app_name="collab",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[CollabSession, SessionMember, SessionInvite],
    migration_dependencies=["app.accounts.piccolo_app"],
    commands=[],
)
