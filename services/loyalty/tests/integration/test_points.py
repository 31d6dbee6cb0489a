"""Points on a real database: earning on orders, reversals, tiers, adjustments, the card,
the history and the program."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_loyalty.adapters.points import loyalty_tenants, luhn_valid
from patron_loyalty.adapters.tables import points_accounts, points_entries, points_lots
from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.scheduler import run_daily_jobs_for_tenants
from patron_loyalty.service.daily import run_daily_jobs
from patron_shared.events import (
    Contract,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
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
        (d["previous_tier"], d["tier"], d["tier_name"], d["direction"])
        for t, d in kinds
        if t == "TierChanged"
    ]
    assert tiers == [
        ("bronze", "silver", "Silver", "upgrade"),
        ("silver", "bronze", "Bronze", "downgrade"),
    ]

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


async def test_orders_in_other_currencies_earn_at_the_programs_rates(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    program = (await client.get("/api/v1/loyalty/program", headers=admin)).json()
    assert program["exchange_rates"] == {}
    bad = await client.put(
        "/api/v1/loyalty/program", json=program | {"exchange_rates": {"eur": "1.1"}}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "exchange_rates.eur" in bad.text
    saved = await client.put(
        "/api/v1/loyalty/program",
        json=program | {"exchange_rates": {"EUR": "1.084512"}},
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["exchange_rates"] == {"EUR": "1.084512"}

    customer = uuid.uuid4()
    for event in (
        placed(customer, "E-1", "100.00").model_copy(update={"currency": "EUR"}),
        paid(customer, "E-1", "100.00").model_copy(update={"currency": "EUR"}),
        placed(customer, "G-1", "100.00").model_copy(update={"currency": "GBP"}),
        paid(customer, "G-1", "100.00").model_copy(update={"currency": "GBP"}),
    ):
        await deliver_record(runtime, envelope(event, tenant))
    # EUR 100 at Bronze's 10 x 1.084512; GBP has no rate: nothing
    assert await books(runtime, tenant, customer) == (1_084, 1_084, 1_084)

    # the rate changes, then half the EUR order is refunded: reversed at the rate it earned at
    await client.put(
        "/api/v1/loyalty/program", json=program | {"exchange_rates": {"EUR": "2"}}, headers=admin
    )
    refund = OrderRefunded(
        order_id="E-1",
        customer_id=customer,
        amount=Decimal("50.00"),
        currency="EUR",
        refunded_at=AT,
    )
    await deliver_record(runtime, envelope(refund, tenant))
    assert await books(runtime, tenant, customer) == (542, 542, 542)


async def test_points_are_quoted_and_redeemed_once_per_idempotency_key(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    base = f"/api/v1/customers/{customer}/points"
    await client.post(base, json={"points": 1_000, "reason": "welcome"}, headers=admin)

    quote = (await client.get(f"{base}/quote", params={"points": 500}, headers=admin)).json()
    assert quote == {
        "points": 500,
        "discount": "5.00",
        "currency": "USD",
        "points_balance": 1_000,
        "points_available": 1_000,
        "redeemable": True,
    }
    keyed = admin | {"Idempotency-Key": "checkout-1"}
    first = await client.post(f"{base}/redeem", json={"points": 500}, headers=keyed)
    assert first.status_code == 201
    redeemed = first.json()
    assert redeemed["status"] == "redeemed"
    assert redeemed["discount"] == "5.00"
    assert redeemed["points_balance"] == 500
    assert redeemed["code"].startswith("PTS-")
    again = (await client.post(f"{base}/redeem", json={"points": 500}, headers=keyed)).json()
    assert (again["id"], again["code"], again["points_balance"]) == (
        redeemed["id"],
        redeemed["code"],
        500,
    )
    reused = await client.post(f"{base}/redeem", json={"points": 100}, headers=keyed)
    assert reused.status_code == 409

    short = await client.post(f"{base}/redeem", json={"points": 600}, headers=admin)
    assert short.status_code == 409
    assert short.headers["content-type"].startswith("application/problem+json")
    assert short.json()["available"] == 500
    assert (
        await client.post(f"{base}/redeem", json={"points": 0}, headers=admin)
    ).status_code == 422
    assert await books(runtime, tenant, customer) == (500, 500, 500)
    events = [e["data"] for e in await announced(runtime, tenant) if e["type"] == "PointsRedeemed"]
    assert [(e["points"], e["discount"], e["code"], e["balance"]) for e in events] == [
        (500, "5.00", redeemed["code"], 500)
    ]


async def test_a_hold_reserves_points_until_confirmed_cancelled_or_lapsed(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    base = f"/api/v1/customers/{customer}/points"
    await client.post(base, json={"points": 1_000, "reason": "welcome"}, headers=admin)

    held = await client.post(
        f"{base}/holds", json={"points": 700, "order_id": "C-1"}, headers=admin
    )
    assert held.status_code == 201
    hold = held.json()
    assert (hold["status"], hold["code"], hold["points_available"]) == ("held", None, 300)
    # what is held cannot be deducted or held again, and is still in the balance
    deduct = await client.post(base, json={"points": -400, "reason": "x"}, headers=admin)
    assert deduct.status_code == 409
    assert (
        await client.post(f"{base}/holds", json={"points": 400}, headers=admin)
    ).status_code == 409
    card = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    assert (card["points_balance"], card["points_held"], card["points_available"]) == (
        1_000,
        700,
        300,
    )

    confirmed = (await client.post(f"{base}/holds/{hold['id']}/confirm", headers=admin)).json()
    assert (confirmed["status"], confirmed["points_balance"], confirmed["points_available"]) == (
        "redeemed",
        300,
        300,
    )
    assert confirmed["code"].startswith("PTS-")
    twice = (await client.post(f"{base}/holds/{hold['id']}/confirm", headers=admin)).json()
    assert twice["code"] == confirmed["code"]
    assert (
        await client.post(f"{base}/holds/{hold['id']}/cancel", headers=admin)
    ).status_code == 409

    second = (await client.post(f"{base}/holds", json={"points": 200}, headers=admin)).json()
    released = (await client.post(f"{base}/holds/{second['id']}/cancel", headers=admin)).json()
    assert (released["status"], released["points_available"]) == ("cancelled", 300)
    assert (
        await client.post(f"{base}/holds/{second['id']}/confirm", headers=admin)
    ).status_code == 409

    brief = (
        await client.post(f"{base}/holds", json={"points": 300, "hold_seconds": 1}, headers=admin)
    ).json()
    assert brief["points_available"] == 0
    await asyncio.sleep(1.2)
    lapsed = await client.post(f"{base}/holds/{brief['id']}/confirm", headers=admin)
    assert lapsed.status_code == 409
    assert "expired" in lapsed.json()["detail"]
    quote = (await client.get(f"{base}/quote", params={"points": 300}, headers=admin)).json()
    assert (quote["points_available"], quote["redeemable"]) == (300, True)
    assert await books(runtime, tenant, customer) == (300, 300, 300)
    missing = await client.post(f"{base}/holds/{uuid.uuid4()}/confirm", headers=admin)
    assert missing.status_code == 404


async def test_concurrent_redemptions_never_spend_the_same_points(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    base = f"/api/v1/customers/{customer}/points"
    await client.post(base, json={"points": 1_000, "reason": "welcome"}, headers=admin)
    results = await asyncio.gather(
        *(client.post(f"{base}/redeem", json={"points": 200}, headers=admin) for _ in range(10))
    )
    assert sorted(r.status_code for r in results) == [201] * 5 + [409] * 5
    codes = {r.json()["code"] for r in results if r.status_code == 201}
    assert len(codes) == 5
    assert await books(runtime, tenant, customer) == (0, 0, 0)


async def test_the_daily_jobs_expire_due_points_once_and_review_tiers_time_moves(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    program = (await client.get("/api/v1/loyalty/program", headers=admin)).json()
    program |= {"downgrade_grace_days": 30, "earn_on": "OrderPlaced"}
    assert (await client.put("/api/v1/loyalty/program", json=program, headers=admin)).is_success
    saver, spender = uuid.uuid4(), uuid.uuid4()
    await client.post(
        f"/api/v1/customers/{saver}/points", json={"points": 700, "reason": "gift"}, headers=admin
    )
    # 120 -> 1,200 points: Silver; a refund of half takes it to 600, below Silver's 1,000
    await deliver_record(runtime, envelope(placed(spender, "O-7", "120.00"), tenant))
    refund = OrderRefunded(
        order_id="O-7", customer_id=spender, amount=Decimal("60.00"), currency="USD", refunded_at=AT
    )
    await deliver_record(runtime, envelope(refund, tenant))

    def new_uow() -> LoyaltyUnitOfWork:
        return runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant)

    async def tier_of(customer: uuid.UUID) -> str:
        body = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
        return str(body["tier"])

    now = datetime.now(UTC)
    assert await tier_of(spender) == "silver"  # the grace period runs
    early = await run_daily_jobs(new_uow, now + timedelta(days=10))
    assert (early.customers_expired, early.points_expired) == (0, 0)
    assert await tier_of(spender) == "silver"
    await run_daily_jobs(new_uow, now + timedelta(days=31))
    assert await tier_of(spender) == "bronze"

    # store credit expires in the same jobs
    credit = {"amount": "15.00", "currency": "USD", "reason": "goodwill"}
    credit["expires_at"] = (now + timedelta(days=60)).isoformat()
    issued = await client.post(f"/api/v1/customers/{saver}/credit", json=credit, headers=admin)
    assert issued.status_code == 201

    # every tenant's jobs, as the scheduler runs them, a year and more later
    later = now + timedelta(days=400)
    results = await run_daily_jobs_for_tenants(runtime, [tenant], later)
    assert (results[tenant].customers_expired, results[tenant].points_expired) == (2, 1_300)
    assert results[tenant].credit_lots_expired == 1
    assert await books(runtime, tenant, saver) == (0, 0, 0)
    assert await books(runtime, tenant, spender) == (0, 0, 0)
    again = await run_daily_jobs(new_uow, later)
    assert (again.customers_expired, again.points_expired, again.credit_lots_expired) == (0, 0, 0)

    kinds = [(e["type"], e["data"]) for e in await announced(runtime, tenant)]
    expired = sorted((d["points"], d["balance"]) for t, d in kinds if t == "PointsExpired")
    assert expired == [(600, 0), (700, 0)]
    downgrades = [d for t, d in kinds if t == "TierChanged" and d["direction"] == "downgrade"]
    assert [(d["previous_tier"], d["tier"]) for d in downgrades] == [("silver", "bronze")]
    assert tenant in await loyalty_tenants(runtime.engine)


async def test_a_rolling_window_downgrades_once_its_points_age_out(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    program = (await client.get("/api/v1/loyalty/program", headers=admin)).json()
    program |= {"tier_basis": "rolling_12m", "earn_on": "OrderPlaced", "expiry_months": None}
    assert (await client.put("/api/v1/loyalty/program", json=program, headers=admin)).is_success
    customer = uuid.uuid4()
    await deliver_record(runtime, envelope(placed(customer, "O-3", "150.00"), tenant))
    card = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    assert (card["tier"], card["points_balance"]) == ("silver", 1_500)

    def new_uow() -> LoyaltyUnitOfWork:
        return runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant)

    await run_daily_jobs(new_uow, datetime.now(UTC) + timedelta(days=200))
    card = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    assert card["tier"] == "silver"
    reviewed = await run_daily_jobs(new_uow, datetime.now(UTC) + timedelta(days=370))
    assert reviewed.tiers_reviewed >= 1
    card = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    # the points never expire, but they no longer count for the tier
    assert (card["tier"], card["points_balance"]) == ("bronze", 1_500)


async def test_a_merge_moves_lots_orders_and_tier_and_an_unmerge_gives_back_what_is_left(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    for customer, order_id, total in ((survivor, "S-1", "60.00"), (merged, "M-1", "50.00")):
        await deliver_record(runtime, envelope(placed(customer, order_id, total), tenant))
        await deliver_record(runtime, envelope(paid(customer, order_id, total), tenant))
    hold = await client.post(
        f"/api/v1/customers/{merged}/points/holds", json={"points": 100}, headers=admin
    )
    assert hold.status_code == 201

    merge = CustomersMerged(customer_id=survivor, merged_customer_id=merged, merged_at=AT)
    assert await deliver_record(runtime, envelope(merge, tenant)) == "processed"
    assert await books(runtime, tenant, survivor) == (1_100, 1_100, 1_100)
    assert await books(runtime, tenant, merged) == (0, 0, 0)
    card = (await client.get(f"/api/v1/customers/{survivor}/loyalty", headers=admin)).json()
    assert card["tier"] == "silver"  # 600 + 500 points earned between them
    held = await client.get(
        f"/api/v1/customers/{merged}/points/redemptions/{hold.json()['id']}", headers=admin
    )
    assert held.json()["status"] == "cancelled"
    refused = await client.post(
        f"/api/v1/customers/{merged}/points", json={"points": 5, "reason": "x"}, headers=admin
    )
    assert refused.status_code == 409
    assert refused.json()["merged_into"] == str(survivor)

    # the survivor spends 700: the oldest lots first (its own, then 100 of the merged one's)
    spent = await client.post(
        f"/api/v1/customers/{survivor}/points/redeem", json={"points": 700}, headers=admin
    )
    assert spent.status_code == 201
    # an event still naming the merged customer counts for the survivor
    late = OrderPlaced(
        order_id="M-2", customer_id=merged, currency="USD", total=Decimal("10.00"), placed_at=AT
    )
    await deliver_record(runtime, envelope(late, tenant))
    await deliver_record(runtime, envelope(paid(merged, "M-2", "10.00"), tenant))
    # 1,100 - 700 + 120 (M-2 at Silver's 12 points per unit)
    assert await books(runtime, tenant, survivor) == (520, 520, 520)

    unmerge = CustomersUnmerged(customer_id=survivor, restored_customer_id=merged, unmerged_at=AT)
    assert await deliver_record(runtime, envelope(unmerge, tenant)) == "processed"
    # what was left of the merged customer's lot (400 of 500) goes back; M-2 stays earned
    assert await books(runtime, tenant, merged) == (400, 400, 400)
    assert await books(runtime, tenant, survivor) == (120, 120, 120)
    card = (await client.get(f"/api/v1/customers/{survivor}/loyalty", headers=admin)).json()
    assert card["tier"] == "bronze"  # 600 + 120 of its own: below Silver again
    # its order is its own again: a refund now reverses from its own ledger
    refund = OrderRefunded(
        order_id="M-1", customer_id=merged, amount=Decimal("25.00"), currency="USD", refunded_at=AT
    )
    await deliver_record(runtime, envelope(refund, tenant))
    assert await books(runtime, tenant, merged) == (150, 150, 150)
    assert await books(runtime, tenant, survivor) == (120, 120, 120)


async def test_erasure_removes_personal_references_and_keeps_the_amounts(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    url = f"/api/v1/customers/{customer}/points"
    await client.post(url, json={"points": 300, "reason": "Sorry, Ms Jane Roe"}, headers=admin)
    before = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    erased = CustomerErased(customer_id=customer, mode="anonymize", erased_at=AT)
    assert await deliver_record(runtime, envelope(erased, tenant)) == "processed"
    after = (await client.get(f"/api/v1/customers/{customer}/loyalty", headers=admin)).json()
    assert after["points_balance"] == 300
    assert after["card_number"] != before["card_number"]
    history = (await client.get(url, headers=admin)).json()["data"]
    assert [(e["points"], e["reason"]) for e in history] == [(300, "[erased]")]
    assert await books(runtime, tenant, customer) == (300, 300, 300)
