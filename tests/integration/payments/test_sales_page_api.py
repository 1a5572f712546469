"""The sales API: totals and the daily series summed by the database, the entries a page at a time."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest

from app.accounts.tables import User
from app.payments.tables import LedgerEntry
from tests.integration.payments.helpers import user

DAY = 86400


async def user_id(handle: str) -> uuid.UUID:
    row = await User.select(User.id).where(User.handle == handle).first()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def ledger(creator: uuid.UUID, now: int) -> list[LedgerEntry]:
    """Entries over three recent days and one long ago, two currencies, held and settled ones;
    40 of them share one second, so the pages must order by id within it."""
    rows = []
    for i in range(130):
        currency = "JPY" if i % 5 == 0 else "USD"
        kind = "refund" if i % 7 == 0 else "sale"
        gross = (-1 if kind == "refund" else 1) * (100 + i)
        at = now - (i % 3) * DAY if i >= 40 else now - 5
        rows.append(
            LedgerEntry(
                entry_key=f"{kind}:{uuid.uuid4()}",
                creator=creator,
                order=uuid.uuid4(),
                kind=kind,
                currency=currency,
                gross=gross,
                fee=i % 4,
                commission=gross // 10,
                net=gross - gross // 10 - i % 4,
                held=i % 11 == 0,
                settled_at=now if i % 13 == 0 else None,
                created_at=now - 40 * DAY if i == 129 else at,
            )
        )
    await LedgerEntry.insert(*rows)
    return rows


def expected(rows: list[LedgerEntry], now: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for e in rows:
        s = out[e.currency]
        s["gross"] += e.gross if e.kind == "sale" else 0
        s["refunds"] -= e.gross if e.kind != "sale" else 0
        s["fee"] += e.fee
        s["commission"] += e.commission
        s["net"] += e.net
        s["balance"] += e.net if e.settled_at is None and not e.held else 0
        s["held"] += e.net if e.settled_at is None and e.held else 0
        day = time.strftime("%Y-%m-%d", time.gmtime(e.created_at))
        if e.created_at // DAY > now // DAY - 30:
            s[f"count {day}"] += e.kind == "sale"
            s[f"gross {day}"] += e.gross
    return out


async def test_sales_are_summed_by_the_database_and_entries_come_newest_first_in_pages(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle, creator = await user(client, creator=True)
    other_handle, _ = await user(client, creator=True)
    now = int(time.time())
    rows = await ledger(await user_id(handle), now)
    await ledger(await user_id(other_handle), now)  # someone else's: never counted, never listed

    def no_rows(*_: object, **__: object) -> None:
        raise AssertionError("the sales summary loaded ledger rows instead of summing them in SQL")

    with monkeypatch.context() as m:
        m.setattr(LedgerEntry, "objects", no_rows)
        r = await client.get("/api/v1/sales", headers=creator)
    assert r.status_code == 200, r.text
    want = expected(rows, now)
    assert [s["currency"] for s in r.json()] == ["JPY", "USD"]
    for s in r.json():
        w = want[s["currency"]]
        assert {k: s[k] for k in ("gross", "refunds", "fee", "commission", "net", "balance", "held")} == {
            k: w[k] for k in ("gross", "refunds", "fee", "commission", "net", "balance", "held")
        }
        assert len(s["days"]) == 30 and s["days"][-1]["day"] == time.strftime("%Y-%m-%d", time.gmtime(now))
        for d in s["days"]:
            assert (d["count"], d["gross"]) == (w[f"count {d['day']}"], w[f"gross {d['day']}"]), d

    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        page = await client.get(
            "/api/v1/sales/entries", params={"limit": 50, **({"cursor": cursor} if cursor else {})}, headers=creator
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 50
        seen += body["items"]
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(rows) == 130
    assert len({e["id"] for e in seen}) == 130  # no entry twice, none skipped at the shared second
    assert {e["id"] for e in seen} == {str(e.id) for e in rows}
    keys = [(e["created_at"], e["id"]) for e in seen]
    assert keys == sorted(keys, reverse=True)
    first = next(e for e in seen if e["id"] == str(rows[13].id))
    assert first["settled"] is True and first["kind"] == "sale" and first["gross"] == 113

    bad = await client.get("/api/v1/sales/entries", params={"cursor": "yesterday"}, headers=creator)
    assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")
    _, buyer = await user(client)
    assert (await client.get("/api/v1/sales/entries", headers=buyer)).status_code == 403
