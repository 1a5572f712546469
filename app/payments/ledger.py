"""Creator earnings from the ledger: totals and a per-day series summed in SQL, a page of entries, payouts."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections import defaultdict
from typing import Any

from piccolo.query.functions.aggregate import Count, Sum

from app.accounts.tables import User
from app.core.db import now
from app.core.errors import InvalidInput, NotFound
from app.payments.schemas import DayPoint, LedgerEntryOut, LedgerPage, PayoutLine, SalesOut
from app.payments.tables import LedgerEntry, OrderItem

DAY = 86400

# Per currency, summed by the database: the page never loads a creator's entries to add them up.
# ``held`` is a boolean on PostgreSQL and 0/1 on SQLite; ``NOT held`` reads the same on both.
# What is still owed either way is ``net + recovered`` of unsettled entries: ``recovered`` is the
# part of a refund that a transfer reversal already took back from the creator (see reversals).
TOTALS_SQL = """
SELECT currency,
       SUM(CASE WHEN kind = 'sale' THEN gross ELSE 0 END) AS gross,
       SUM(fee) AS fee,
       SUM(commission) AS commission,
       -SUM(CASE WHEN kind <> 'sale' THEN gross ELSE 0 END) AS refunds,
       SUM(net) AS net,
       SUM(recovered) AS recovered,
       SUM(CASE WHEN settled_at IS NULL AND NOT held THEN net + recovered ELSE 0 END) AS balance,
       SUM(CASE WHEN settled_at IS NULL AND held THEN net + recovered ELSE 0 END) AS held
FROM ledger_entries
WHERE creator = {}
GROUP BY currency
ORDER BY currency
"""

FIGURES = ("gross", "fee", "commission", "refunds", "net", "recovered", "balance", "held")

# Per currency and UTC day (epoch seconds // 86400) since a day boundary: one row per day and currency at most.
SERIES_SQL = """
SELECT currency, created_at / 86400 AS day,
       SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS count,
       SUM(gross) AS gross,
       SUM(net) AS net
FROM ledger_entries
WHERE creator = {} AND created_at >= {}
GROUP BY currency, created_at / 86400
"""


def _day(index: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(index * DAY))


async def sales(creator: uuid.UUID, days: int = 30) -> list[SalesOut]:
    """One summary per currency the creator sold in, with a daily series of the last ``days`` (today included)."""
    first = now() // DAY - days + 1
    totals = await LedgerEntry.raw(TOTALS_SQL, creator)
    series: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in await LedgerEntry.raw(SERIES_SQL, creator, first * DAY):
        series[row["currency"]][int(row["day"])] = row
    out = []
    for t in totals:
        points = series[t["currency"]]
        blank = {"count": 0, "gross": 0, "net": 0}
        out.append(
            SalesOut(
                currency=t["currency"],
                **{k: int(t[k] or 0) for k in FIGURES},
                days=[
                    DayPoint(day=_day(d), **{k: int(points.get(d, blank)[k] or 0) for k in ("count", "gross", "net")})
                    for d in range(first, first + days)
                ],
            )
        )
    return out


async def entries(creator: uuid.UUID, limit: int = 50, cursor: str | None = None) -> LedgerPage:
    """The creator's ledger entries, newest first, a page at a time (keyset: created_at, id)."""
    query = LedgerEntry.objects().where(LedgerEntry.creator == creator)
    if cursor:
        at, last = _cursor(cursor)
        query = query.where((LedgerEntry.created_at < at) | ((LedgerEntry.created_at == at) & (LedgerEntry.id < last)))
    rows = await query.order_by(LedgerEntry.created_at, LedgerEntry.id, ascending=False).limit(limit + 1)
    page = rows[:limit]
    line_ids = [e.order_item for e in page if e.order_item is not None] or [uuid.uuid4()]
    titles = {
        r["id"]: r["title"]
        for r in await OrderItem.select(OrderItem.id, OrderItem.title).where(OrderItem.id.is_in(line_ids))
    }
    items = [
        LedgerEntryOut(
            id=e.id,
            created_at=e.created_at,
            kind=e.kind,
            title=titles.get(e.order_item, ""),
            currency=e.currency,
            gross=e.gross,
            fee=e.fee,
            commission=e.commission,
            net=e.net,
            recovered=e.recovered,
            held=e.held,
            settled=e.settled_at is not None,
        )
        for e in page
    ]
    more = len(rows) > limit
    return LedgerPage(items=items, next=f"{page[-1].created_at}.{page[-1].id}" if more else None)


def _cursor(value: str) -> tuple[int, uuid.UUID]:
    at, _, last = value.partition(".")
    try:
        return int(at), uuid.UUID(last)
    except ValueError:
        raise InvalidInput("This page cursor is not one of ours.", field="cursor") from None


async def payout_report() -> list[PayoutLine]:
    """What each creator is owed now: unsettled, unheld entries, per currency (positive only)."""
    rows = (
        await LedgerEntry.select(
            LedgerEntry.creator,
            LedgerEntry.currency,
            Sum(LedgerEntry.net).as_alias("amount"),
            Sum(LedgerEntry.recovered).as_alias("recovered"),
            Count().as_alias("entries"),
        )
        .where(LedgerEntry.settled_at.is_null(), LedgerEntry.held == False)  # noqa: E712 - Piccolo query
        .group_by(LedgerEntry.creator, LedgerEntry.currency)
    )
    owed = {
        (r["creator"], r["currency"]): (int(r["amount"] or 0) + int(r["recovered"] or 0), int(r["entries"]))
        for r in rows
    }
    users = {u.id: u for u in await User.objects().where(User.id.is_in([k[0] for k in owed] or [uuid.uuid4()]))}
    return [
        PayoutLine(creator=users[c].handle, email=users[c].email, currency=cur, amount=v[0], entries=v[1])
        for (c, cur), v in sorted(owed.items(), key=lambda kv: (users[kv[0][0]].handle, kv[0][1]))
        if v[0] > 0
    ]


def report_csv(lines: list[PayoutLine]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["creator", "email", "currency", "amount_minor", "entries"])
    for line in lines:
        writer.writerow([line.creator, line.email, line.currency, line.amount, line.entries])
    return buf.getvalue()


async def mark_settled(handle: str, currency: str) -> int:
    """The operator paid this creator by hand: their unsettled, unheld entries are settled."""
    creator = await User.objects().where(User.handle == handle.lower()).first()
    if creator is None:
        raise NotFound("No such creator.", field="creator")
    rows = (
        await LedgerEntry.update({LedgerEntry.settled_at: now()})
        .where(
            LedgerEntry.creator == creator.id,
            LedgerEntry.currency == currency,
            LedgerEntry.settled_at.is_null(),
            LedgerEntry.held == False,  # noqa: E712 - Piccolo query
        )
        .returning(LedgerEntry.id)
    )
    return len(rows)
