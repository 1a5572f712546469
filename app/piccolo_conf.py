"""Piccolo's configuration module, for its own CLI (``piccolo migrations new … --auto``).

The app itself builds and binds its engine in ``app.core.db``; this only mirrors that.
"""

from piccolo.conf.apps import AppRegistry

from app.core.db import APPS, make_engine
from app.core.settings import get_settings

DB = make_engine(get_settings().db_url)
APP_REGISTRY = AppRegistry(apps=APPS)
