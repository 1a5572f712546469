"""Piccolo app registration for payments (tables and their migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.payments.tables import (
    ConnectAccount,
    DiscountCode,
    LedgerEntry,
    LicenseActivation,
    LicenseKey,
    LicenseSetting,
    Order,
    OrderGrant,
    OrderItem,
    WebhookEvent,
)

APP_CONFIG = AppConfig(
    app_name="payments",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        Order,
        OrderItem,
        OrderGrant,
        LedgerEntry,
        WebhookEvent,
        DiscountCode,
        LicenseSetting,
        LicenseKey,
        LicenseActivation,
        ConnectAccount,
    ],
    migration_dependencies=["app.accounts.piccolo_app", "app.catalog.piccolo_app"],
    commands=[],
)
