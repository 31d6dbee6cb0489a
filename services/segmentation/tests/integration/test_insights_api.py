"""The customer-base models through the API, on a real database."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.domain.predictions import TimeUnit, summarize
from patron_shared.events import OrderPlaced, OrderRefunded, build_envelope, utcnow
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, deliver_record

from .test_segments_api import customer

pytestmark = pytest.mark.integration


async def buyer(
    runtime: ServiceRuntime, tenant: str, *, orders: int, every_days: int, last_days_ago: int
) -> uuid.UUID:
    """A customer whose `orders` orders came `every_days` apart, the last `last_days_ago`."""
    customer_id = await customer(runtime, tenant, tags=[], spent=[])
    now = utcnow()
    for n in range(orders):
        placed = OrderPlaced(
            order_id=f"{customer_id.hex[:10]}-{n}",
            customer_id=customer_id,
            currency="USD",
            total=Decimal(25 + 5 * (n % 3)),
            placed_at=now - timedelta(days=last_days_ago + n * every_days),
        )
        envelope = build_envelope(placed, tenant_id=tenant, source="t")
        assert await deliver_record(runtime, envelope) == "processed"
    return customer_id


async def test_a_model_is_fitted_stored_backtested_and_read_per_customer(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    buyers = [
        await buyer(runtime, tenant, orders=orders, every_days=every, last_days_ago=last)
        for orders, every, last in (
            (8, 14, 3),
            (6, 20, 10),
            (5, 30, 200),
            (4, 21, 30),
            (1, 1, 5),
            (1, 1, 300),
            (3, 28, 60),
            (10, 10, 1),
            (1, 1, 90),
            (3, 40, 150),
            (2, 60, 20),
            (7, 15, 8),
            (2, 30, 250),
            (5, 25, 40),
            (1, 1, 30),
            (4, 35, 120),
            (6, 12, 15),
            (2, 45, 5),
        )
    ]
    idle = await customer(runtime, tenant, tags=[], spent=[])
    headers = bearer_headers(tenant, "analyst")

    latest = await client.get("/api/v1/insights/model", headers=headers)
    again = await client.get("/api/v1/insights/model", headers=headers)
    earlier = await client.get(
        "/api/v1/insights/model",
        params={"as_of": (utcnow() - timedelta(days=100)).date().isoformat(), "time_unit": "day"},
        headers=headers,
    )
    steady = await client.get(f"/api/v1/customers/{buyers[7]}/insights", headers=headers)
    lapsed = await client.get(f"/api/v1/customers/{buyers[2]}/insights", headers=headers)
    none = await client.get(f"/api/v1/customers/{idle}/insights", headers=headers)

    assert latest.status_code == 200, latest.text
    model = latest.json()
    assert (model["customers"], model["time_unit"]) == (len(buyers), "week")
    # orders on days next to each other can share a week: a week counts one purchase
    assert 0 < model["repeat_customers"] < model["customers"]
    assert all(value > 0 for value in model["bgnbd"].values())
    assert model["gamma_gamma"] is not None
    assert again.json()["fitted_at"] == model["fitted_at"]  # reused, not refitted
    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["time_unit"] == "day"
    assert earlier.json()["customers"] < model["customers"]
    assert steady.status_code == 200, steady.text
    assert lapsed.status_code == 200, lapsed.text
    steady_body, lapsed_body = steady.json(), lapsed.json()
    assert 0 <= lapsed_body["probability_alive"] <= steady_body["probability_alive"] <= 1
    assert steady_body["expected_purchases_365d"] >= steady_body["expected_purchases_30d"] > 0
    assert steady_body["churn_risk"] == pytest.approx(1 - steady_body["probability_alive"])
    assert steady_body["simple_lifetime_value"] > 0
    assert none.status_code == 404


async def test_a_tenant_without_orders_has_no_model(client: httpx.AsyncClient, tenant: str) -> None:
    response = await client.get("/api/v1/insights/model", headers=bearer_headers(tenant, "analyst"))

    assert response.status_code == 404
    assert "no orders" in response.json()["detail"]


@pytest.mark.parametrize("unit", ["day", "week"])
async def test_summaries_aggregated_in_sql_are_the_ones_the_domain_makes(
    runtime: ServiceRuntime, tenant: str, unit: TimeUnit
) -> None:
    buyers = [
        await buyer(runtime, tenant, orders=orders, every_days=every, last_days_ago=last)
        for orders, every, last in ((5, 3, 2), (3, 9, 40), (1, 1, 7), (6, 1, 0), (4, 13, 100))
    ]
    refunded = OrderRefunded(
        order_id=f"{buyers[1].hex[:10]}-1",
        customer_id=buyers[1],
        amount=Decimal("7.50"),
        currency="USD",
        refunded_at=utcnow(),
    )
    await deliver_record(runtime, build_envelope(refunded, tenant_id=tenant, source="t"))
    as_of = utcnow().date()

    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        in_sql = await uow.insights.summaries(as_of, unit)
        in_python = {
            c: summarize(await uow.insights.history(c, as_of), as_of, unit) for c in buyers
        }

    assert set(in_sql) == set(buyers)
    for customer_id in buyers:
        sql, python = in_sql[customer_id], in_python[customer_id]
        assert python is not None
        assert (sql.frequency, sql.recency, sql.age) == (
            python.frequency,
            python.recency,
            python.age,
        )
        assert sql.monetary == pytest.approx(python.monetary, rel=1e-12)
