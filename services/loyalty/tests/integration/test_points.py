"""Points on a real database: earning on orders, reversals, tiers, adjustments, the card,
the history and the program."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_loyalty.adapters.points import luhn_valid
from patron_loyalty.adapters.tables import points_accounts, points_entries, points_lots
from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_shared.events import (
    Contract,
    Envelope,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="orders")


def placed(customer_id: uuid.UUID, order_id: str, total: str, shipping: str = "0") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="USD",
        total=Decimal(total),
        shipping_total=Decimal(shipping),
        placed_at=AT,
    )


def paid(customer_id: uuid.UUID, order_id: str, amount: str) -> OrderPaid:
    return OrderPaid(
        order_id=order_id,
        customer_id=customer_id,
        amount=Decimal(amount),
        currency="USD",
        paid_at=AT,
    )


async def books(
    runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID
) -> tuple[int, int, int]:
    """(account balance, sum of entries, sum of open lots)."""
    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant) as uow:
        balance = await uow.session.scalar(
            select(points_accounts.c.balance).where(points_accounts.c.customer_id == customer_id)
        )
        entries = await uow.session.scalar(
            select(func.coalesce(func.sum(points_entries.c.points), 0)).where(
                points_entries.c.customer_id == customer_id
            )
        )
        lots = await uow.session.scalar(
            select(func.coalesce(func.sum(points_lots.c.remaining), 0)).where(
                points_lots.c.customer_id == customer_id
            )
        )
    return int(balance or 0), int(entries or 0), int(lots or 0)


async def announced(runtime: ServiceRuntime, tenant: str) -> list[dict[str, Any]]:
    outbox = runtime.messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(outbox.c.payload).where(outbox.c.tenant_id == tenant).order_by(outbox.c.seq)
            )
        ).all()
    return [row.payload for row in rows]


async def test_an_order_earns_once_paid_and_a_refund_reverses_in_proportion(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    # 130 charged, 10 of it shipping: 120 of merchandise at Bronze's 10 points per unit
    await deliver_record(runtime, envelope(placed(customer, "O-1", "130.00", "10.00"), tenant))
    assert await books(runtime, tenant, customer) == (0, 0, 0)  # not paid yet
    payment = envelope(paid(customer, "O-1", "130.00"), tenant)
    assert await deliver_record(runtime, payment) == "processed"
    assert await books(runtime, tenant, customer) == (1_200, 1_200, 1_200)
    assert await deliver_record(runtime, payment) == "duplicate"
    assert await books(runtime, tenant, customer) == (1_200, 1_200, 1_200)

    refund = OrderRefunded(
        order_id="O-1",
        customer_id=customer,
        amount=Decimal("30.00"),
        currency="USD",
        refunded_at=AT,
    )
    await deliver_record(runtime, envelope(refund, tenant))
    # 120 x (1 - 30/130) = 92.31 -> 923 points kept, 277 taken back
    assert await books(runtime, tenant, customer) == (923, 923, 923)

    kinds = [(e["type"], e["data"]) for e in await announced(runtime, tenant)]
    earned = [d for t, d in kinds if t == "PointsEarned"]
    assert [(d["points"], d["balance"], d["order_id"]) for d in earned] == [(1_200, 1_200, "O-1")]
    assert earned[0]["expires_at"].startswith("2027-")
    reversed_ = [d for t, d in kinds if t == "PointsReversed"]
    assert [(d["points"], d["unrecovered"], d["balance"]) for d in reversed_] == [(277, 0, 923)]
    # 1,200 lifetime points reached Silver; the refund took it back below 1,000
    tiers = [
        (d["previous_tier"], d["tier"], d["direction"]) for t, d in kinds if t == "TierChanged"
    ]
    assert tiers == [("bronze", "silver", "upgrade"), ("silver", "bronze", "downgrade")]

    card = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    assert card["points_balance"] == 923
    assert card["cash_value"] == "9.23"
    assert card["currency"] == "USD"
    assert card["tier"] == "bronze"
    assert card["points_expiring_30d"] == 0
    assert luhn_valid(card["card_number"])
    assert len(card["card_number"]) == 16


async def test_events_in_any_order_end_in_the_same_ledger(
    runtime: ServiceRuntime, tenant: str
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    cancel = OrderCancelled(order_id="O-9", customer_id=second, cancelled_at=AT)
    flows: dict[uuid.UUID, list[Contract]] = {
        first: [placed(first, "O-8", "50.00"), paid(first, "O-8", "50.00")],
        second: [paid(second, "O-9", "80.00"), placed(second, "O-9", "80.00"), cancel],
    }
    await deliver_record(runtime, envelope(flows[first][1], tenant))  # paid before placed
    await deliver_record(runtime, envelope(flows[first][0], tenant))
    for event in flows[second]:
        await deliver_record(runtime, envelope(event, tenant))
    assert await books(runtime, tenant, first) == (500, 500, 500)
    assert await books(runtime, tenant, second) == (0, 0, 0)  # earned, then all reversed


async def test_adjustments_add_and_deduct_with_a_reason_and_never_overdraw(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    url = f"/api/v1/customers/{customer}/points"
    added = await client.post(
        url, json={"points": 1_000, "reason": "Goodwill credit for shipping delay"}, headers=admin
    )
    assert added.status_code == 201
    body = added.json()
    assert body["points_balance"] == 1_000
    assert body["entry"]["kind"] == "adjust"
    assert body["entry"]["reason"] == "Goodwill credit for shipping delay"
    assert body["entry"]["actor"]
    assert body["entry"]["lots"][0]["points"] == 1_000

    too_much = await client.post(url, json={"points": -1_001, "reason": "typo"}, headers=admin)
    assert too_much.status_code == 409
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert too_much.json()["balance"] == 1_000
    zero = await client.post(url, json={"points": 0, "reason": "nothing"}, headers=admin)
    assert zero.status_code == 422
    assert "points" in zero.text

    # 20 deductions of 100 at once on 1,000: the account row serializes them
    results = await asyncio.gather(
        *(
            client.post(url, json={"points": -100, "reason": "race"}, headers=admin)
            for _ in range(20)
        )
    )
    assert sorted(r.status_code for r in results) == [201] * 10 + [409] * 10
    assert await books(runtime, tenant, customer) == (0, 0, 0)
    adjusted = [e for e in await announced(runtime, tenant) if e["type"] == "PointsAdjusted"]
    assert [e["data"]["points"] for e in adjusted] == [1_000] + [-100] * 10
    assert sorted(e["data"]["balance"] for e in adjusted[1:]) == list(range(0, 1_000, 100))


async def test_the_history_is_paginated_newest_first_and_explains_each_lot(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    url = f"/api/v1/customers/{customer}/points"
    for points in (100, 200, 300, -250):
        response = await client.post(
            url, json={"points": points, "reason": f"r{points}"}, headers=admin
        )
        assert response.status_code == 201
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"per_page": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=admin)).json()
        seen += page["data"]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert [e["points"] for e in seen] == [-250, 300, 200, 100]
    assert [e["balance_after"] for e in seen] == [350, 600, 300, 100]
    # the deduction took the oldest lots first: all of the 100, 150 of the 200
    deduction = seen[0]
    assert [m["points"] for m in deduction["lots"]] == [-100, -150]
    assert {m["lot_id"] for m in deduction["lots"]} == {
        seen[3]["lots"][0]["lot_id"],
        seen[2]["lots"][0]["lot_id"],
    }
    bad = await client.get(url, params={"cursor": "nonsense"}, headers=admin)
    assert bad.status_code == 422
    unknown = await client.get(f"/api/v1/customers/{uuid.uuid4()}/points", headers=admin)
    assert unknown.status_code == 404


async def test_the_program_can_be_read_and_set_and_a_broken_one_is_refused(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    program = (await client.get("/api/v1/loyalty/program", headers=admin)).json()
    assert [(t["key"], t["min_points"], t["earn_rate"]) for t in program["tiers"]] == [
        ("bronze", 0, "10"),
        ("silver", 1_000, "12"),
        ("gold", 5_000, "15"),
    ]
    assert (program["points_per_currency_unit"], program["expiry_months"]) == (100, 12)

    program["tiers"][0]["earn_rate"] = "20"
    program["earn_on"] = "OrderPlaced"
    saved = await client.put("/api/v1/loyalty/program", json=program, headers=admin)
    assert saved.status_code == 200
    customer = uuid.uuid4()
    await deliver_record(runtime, envelope(placed(customer, "O-5", "10.00"), tenant))
    assert await books(runtime, tenant, customer) == (200, 200, 200)  # on placing, at 20

    broken = program | {"tiers": [program["tiers"][1], program["tiers"][0]]}
    refused = await client.put("/api/v1/loyalty/program", json=broken, headers=admin)
    assert refused.status_code == 422
    assert "tiers" in refused.text
