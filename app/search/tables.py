"""The search outbox: listing changes waiting to reach the index."""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Serial, Varchar
from piccolo.table import Table


class SearchOutbox(Table, tablename="search_outbox"):
    """Written in the same transaction as the listing change; deleted once applied."""

    id = Serial(primary_key=True)
    listing = UUID(index=True)
    created_at_ms = BigInt()
    # "" while every engine still owes the change; "meili" once the database engine has it and
    # only Meilisearch (down when it was offered) does.
    target = Varchar(length=16, default="")
