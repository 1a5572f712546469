from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID
from piccolo.table import Table

ID = "2026-11-22T12:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index of the uploads in flight, for the quota sum of every presign"

# Written by hand: Piccolo has no partial indexes. The presign sums the size of the uploader's
# pending uploads; a sample pack uploaded as 2,000 files means 2,000 pending rows, read one by
# one through uploads_user for each presign. This index holds exactly those rows, with their
# state and size (state too, or SQLite reads each row to check it), so the sum never touches
# the table.
CREATE = (
    'CREATE INDEX IF NOT EXISTS uploads_in_flight ON uploads ("user", state, size) '
    "WHERE state IN ('pending', 'verifying')"
)


class Upload(Table, tablename="uploads", schema=None):
    id = UUID(primary_key=True)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)

    async def create() -> None:
        await Upload.raw(CREATE)

    async def drop() -> None:
        await Upload.raw("DROP INDEX IF EXISTS uploads_in_flight")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
