"""Creator earnings from the ledger: totals, a per-day series, the balance, the payout report."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections import defaultdict

from app.accounts.tables import User
from app.core.db import now
from app.core.errors import NotFound
from app.payments.schemas import DayPoint, PayoutLine, SalesOut
from app.payments.tables import LedgerEntry


def _day(epoch: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


async def sales(creator: uuid.UUID, days: int = 30) -> list[SalesOut]:
    """One summary per currency the creator sold in, with a daily series of the last ``days``."""
    rows = await LedgerEntry.objects().where(LedgerEntry.creator == creator).order_by(LedgerEntry.created_at)
    by_currency: dict[str, list[LedgerEntry]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row)
    start = now() - days * 86400
    out = []
    for currency, entries in sorted(by_currency.items()):
        series = {_day(start + i * 86400): [0, 0, 0] for i in range(1, days + 1)}
        for e in entries:
            point = series.get(_day(e.created_at))
            if point is not None:
                point[0] += 1 if e.kind == "sale" else 0
                point[1] += e.gross
                point[2] += e.net
        unsettled = [e for e in entries if e.settled_at is None]
        out.append(
            SalesOut(
                currency=currency,
                gross=sum(e.gross for e in entries if e.kind == "sale"),
                fee=sum(e.fee for e in entries),
                commission=sum(e.commission for e in entries),
                refunds=-sum(e.gross for e in entries if e.kind != "sale"),
                net=sum(e.net for e in entries),
                balance=sum(e.net for e in unsettled if not e.held),
                held=sum(e.net for e in unsettled if e.held),
                days=[DayPoint(day=d, count=p[0], gross=p[1], net=p[2]) for d, p in series.items()],
            )
        )
    return out


async def payout_report() -> list[PayoutLine]:
    """What each creator is owed now: unsettled, unheld entries, per currency (positive only)."""
    rows = await LedgerEntry.objects().where(LedgerEntry.settled_at.is_null(), LedgerEntry.held == False)  # noqa: E712
    owed: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        owed[(row.creator, row.currency)][0] += row.net
        owed[(row.creator, row.currency)][1] += 1
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
