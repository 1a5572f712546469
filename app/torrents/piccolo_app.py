"""Piccolo app registration for torrents (tables and their migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.torrents.tables import Passkey, Torrent, TrackerPeer

APP_CONFIG = AppConfig(
    app_name="torrents",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Torrent, Passkey, TrackerPeer],
    migration_dependencies=["app.accounts.piccolo_app"],
    commands=[],
)
