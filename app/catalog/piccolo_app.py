"""Piccolo app registration for the catalog (tables and their migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.catalog.tables import Entitlement, Listing, ListingFile, ListingVersion, StorefrontDressing, Upload

APP_CONFIG = AppConfig(
    app_name="catalog",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Listing, ListingVersion, ListingFile, Upload, Entitlement, StorefrontDressing],
    migration_dependencies=["app.accounts.piccolo_app"],
    commands=[],
)
