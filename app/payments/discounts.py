"""Discount codes: a creator's percent or fixed codes, with a usage limit and an expiry."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from piccolo.columns.combination import WhereRaw

from app.accounts.tables import User
from app.core.db import now
from app.core.errors import Conflict, InvalidInput
from app.payments import money
from app.payments.schemas import DiscountCreate, DiscountOut
from app.payments.tables import DiscountCode

if TYPE_CHECKING:
    from app.payments.checkout import Line


def to_out(row: DiscountCode) -> DiscountOut:
    return DiscountOut(
        id=row.id,
        code=row.code,
        kind=row.kind,
        value=row.value,
        currency=row.currency,
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
    )


async def create(creator: User, data: DiscountCreate) -> DiscountOut:
    if data.kind == "percent" and data.value > 100:
        raise InvalidInput("A percentage is at most 100.", field="value")
    if data.kind == "fixed" and data.currency is None:
        raise InvalidInput("A fixed discount needs its currency.", field="currency")
    if data.currency is not None:
        money.check_currency(data.currency)
        if data.kind == "fixed":
            money.check_amount(data.value, data.currency, "value")
    if data.expires_at is not None and data.expires_at <= now():
        raise InvalidInput("The expiry is in the past.", field="expires_at")
    code = data.code.upper()
    key = f"{creator.id}:{code}"
    if await DiscountCode.exists().where(DiscountCode.code_key == key):
        raise Conflict("You already have that code.", field="code")
    row = DiscountCode(
        creator=creator.id,
        code_key=key,
        code=code,
        kind=data.kind,
        value=data.value,
        currency=data.currency or "",
        max_uses=data.max_uses,
        expires_at=data.expires_at,
        created_at=now(),
    )
    await row.save()
    return to_out(row)


async def mine(creator: User) -> list[DiscountOut]:
    rows = await DiscountCode.objects().where(DiscountCode.creator == creator.id).order_by(DiscountCode.created_at)
    return [to_out(r) for r in rows]


async def apply_codes(codes: list[str], lines: list[Line], currency: str) -> None:
    """Discount ``lines`` (listing lines only, never tips) by ``codes`` and take one use of each.

    Runs inside the checkout's transaction, so a use taken here is given back if the checkout
    fails. The use is taken by a conditional UPDATE: two buyers racing for the last use of a
    code cannot both get it.
    """
    creators = {line.creator for line in lines}
    step = money.charge_step(currency)
    seen: set[uuid.UUID] = set()
    for raw in codes:
        code = raw.upper()
        row = (
            await DiscountCode.objects()
            .where(DiscountCode.code == code, DiscountCode.creator.is_in(list(creators) or [uuid.uuid4()]))
            .first()
        )
        if row is None:
            raise InvalidInput(f"The code {code} does not apply to anything in this cart.", field="codes")
        if row.creator in seen:
            raise InvalidInput("Only one code per creator.", field="codes")
        seen.add(row.creator)
        if row.expires_at is not None and row.expires_at <= now():
            raise InvalidInput(f"The code {code} has expired.", field="codes")
        if row.kind == "fixed" and row.currency != currency:
            raise InvalidInput(f"The code {code} is in another currency.", field="codes")
        taken = (
            await DiscountCode.update({DiscountCode.uses: DiscountCode.uses + 1})
            .where(DiscountCode.id == row.id, WhereRaw("(max_uses IS NULL OR uses < max_uses)"))
            .returning(DiscountCode.id)
        )
        if not taken:
            raise Conflict(f"The code {code} has been used up.", field="codes")
        remaining = row.value
        for line in lines:
            if line.creator != row.creator:
                continue
            if row.kind == "percent":
                # Rounded down to what the currency can be charged in (ISK: whole krónur).
                off = line.list_amount * row.value // 100 // step * step
            else:
                off = min(remaining, line.list_amount)
                remaining -= off
            line.discount, line.code = off, row.id
