"""License keys: per-listing settings, verification with an activation limit."""

from __future__ import annotations

import uuid

from app.accounts.tables import User
from app.catalog import access
from app.catalog.tables import Listing
from app.core.db import now
from app.core.errors import Conflict, Forbidden, NotFound
from app.payments.fulfilment import atomic
from app.payments.schemas import LicenseOut, LicenseSettingIn
from app.payments.tables import LicenseActivation, LicenseKey, LicenseSetting


async def configure(user: User, listing_id: uuid.UUID, data: LicenseSettingIn) -> LicenseSettingIn:
    """Turn license keys on or off for a listing (its creator only); new purchases follow it."""
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None or not access.is_manager(user, listing):
        raise NotFound("No such listing.")
    await LicenseSetting.insert(
        LicenseSetting(listing=listing_id, enabled=data.enabled, activation_limit=data.activation_limit)
    ).on_conflict(
        target=LicenseSetting.listing,
        action="DO UPDATE",
        values=[LicenseSetting.enabled, LicenseSetting.activation_limit],
    )
    return data


async def verify(key: str, machine: str) -> LicenseOut:
    """Check a key and activate it on ``machine`` (again on the same machine costs nothing).

    A machine already activated is answered from reads alone: plug-ins check their key at every
    start, and none of those checks should queue behind writers. Only a new activation writes.
    """
    row = await LicenseKey.objects().where(LicenseKey.key == key.strip().upper()).first()
    if row is None:
        raise NotFound("No such license key.", field="key")
    if row.revoked_at is not None:
        raise Forbidden("This license key has been revoked.", field="key")
    activation_key = f"{row.id}:{machine}"
    if not await LicenseActivation.exists().where(LicenseActivation.activation_key == activation_key):
        row.activations = await _activate(row, activation_key, machine)
    return LicenseOut(
        valid=True, listing_id=row.listing, activations=row.activations, activation_limit=row.activation_limit
    )


async def _activate(row: LicenseKey, activation_key: str, machine: str) -> int:
    """Record a new activation within the limit; the key's activation count after it."""
    async with atomic():
        # The machine's row first: of two requests for one machine, the second finds it taken
        # (on PostgreSQL it waits for the first to commit) and counts nothing.
        added = (
            await LicenseActivation.insert(
                LicenseActivation(activation_key=activation_key, license=row.id, machine=machine, created_at=now())
            )
            .on_conflict(target=LicenseActivation.activation_key, action="DO NOTHING")
            .returning(LicenseActivation.activation_key)
        )
        if not added:
            current = await LicenseKey.select(LicenseKey.activations).where(LicenseKey.id == row.id).first()
            return int(current["activations"]) if current else row.activations
        # Counted with a conditional UPDATE: concurrent activations cannot pass the limit; over
        # it, the error rolls the machine's row back with it.
        taken = (
            await LicenseKey.update({LicenseKey.activations: LicenseKey.activations + 1})
            .where(LicenseKey.id == row.id, LicenseKey.activations < row.activation_limit)
            .returning(LicenseKey.activations)
        )
        if not taken:
            raise Conflict("This license key has reached its activation limit.", field="machine")
        return int(taken[0]["activations"])
