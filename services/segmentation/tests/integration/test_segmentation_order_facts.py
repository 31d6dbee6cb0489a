"""Order events into orders and order facts, on a real database through the consumer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_segmentation.adapters.tables import customer_facts
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerSnapshot,
    Envelope,
    OrderCancelled,
    OrderItem,
    OrderPlaced,
    OrderRefunded,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, deliver_record, inbox_claims

pytestmark = pytest.mark.integration
DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="orders-service")


def placed(
    customer_id: uuid.UUID, order_id: str, total: str, day: int, category: str
) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="INR",
        total=Decimal(total),
        placed_at=DAY + timedelta(days=day),
        items=[
            OrderItem(sku="S", name="n", category=category, quantity=1, unit_price=Decimal(total))
        ],
    )


async def facts_row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        query = select(customer_facts).where(customer_facts.c.customer_id == customer_id)
        return (await uow.session.execute(query)).first()


async def test_order_events_fold_into_the_customers_order_facts(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    order_a, order_b = f"A-{uuid.uuid4().hex[:6]}", f"B-{uuid.uuid4().hex[:6]}"
    refund = envelope(
        OrderRefunded(
            order_id=order_a,
            customer_id=customer_id,
            amount=Decimal("250"),
            currency="INR",
            refunded_at=DAY,
        ),
        tenant,
    )
    # the refund comes first, and twice: it waits for its order and counts once
    for message in (
        refund,
        envelope(placed(customer_id, order_a, "1000.00", 0, "Sarees"), tenant),
        refund,
        envelope(placed(customer_id, order_b, "500.00", 45, "Bangles"), tenant),
    ):
        await deliver_record(runtime, message)

    row = await facts_row(runtime, tenant, customer_id)
    assert (row.order_count, row.total_spent, row.stats_currency) == (2, Decimal("1250"), "INR")
    assert (row.average_order_value, row.order_total_max, row.order_total_min) == (
        Decimal("625"),
        Decimal("750"),
        Decimal("500"),
    )
    assert (row.first_order_at, row.last_order_at, row.last_order_month) == (
        DAY,
        DAY + timedelta(days=45),
        4,
    )
    assert row.categories == ["bangles", "sarees"]
    assert await inbox_claims(runtime, refund.id) == 1

    await deliver_record(
        runtime,
        envelope(
            OrderCancelled(order_id=order_b, customer_id=customer_id, cancelled_at=DAY), tenant
        ),
    )
    row = await facts_row(runtime, tenant, customer_id)
    assert (row.order_count, row.total_spent, row.categories) == (1, Decimal("750"), ["sarees"])


async def test_orders_before_the_customer_and_the_customer_after_keep_both_kinds_of_facts(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await deliver_record(
        runtime,
        envelope(placed(customer_id, f"O-{uuid.uuid4().hex[:6]}", "80.00", 3, "Tea"), tenant),
    )
    snapshot = CustomerSnapshot(
        email="meera@example.com", tags=["tea lover"], created_at=DAY, updated_at=DAY
    )

    await deliver_record(
        runtime, envelope(CustomerCreated(customer_id=customer_id, customer=snapshot), tenant)
    )

    row = await facts_row(runtime, tenant, customer_id)
    assert (row.order_count, row.total_spent) == (1, Decimal("80"))
    assert (row.tags, row.registered_at) == (["tea lover"], DAY)


async def test_the_facts_api_shows_order_facts_in_the_currencys_precision(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(email="kenji@example.com", created_at=DAY, updated_at=DAY)
    await deliver_record(
        runtime, envelope(CustomerCreated(customer_id=customer_id, customer=snapshot), tenant)
    )
    order = placed(customer_id, f"J-{uuid.uuid4().hex[:6]}", "1999.00", 1, "Knives")
    await deliver_record(runtime, envelope(order.model_copy(update={"currency": "JPY"}), tenant))

    response = await client.get(
        f"/api/v1/segments/customers/{customer_id}/facts",
        headers=bearer_headers(tenant, "marketing"),
    )

    assert response.status_code == 200, response.text
    orders = response.json()["orders"]
    assert (orders["order_count"], orders["total_spent"], orders["currency"]) == (1, "1999", "JPY")
    assert (orders["order_total_max"], orders["categories"]) == ("1999", ["knives"])
