"""Order events on real Kafka and PostgreSQL: refunds, cancellations, early and repeated events."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.customers import ContactRules, create_customer
from patron_profile.service.orders import (
    record_order_event,
)
from patron_shared.events import (
    Contract,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    Topic,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.orders import OrderRecord, OrderStats
from patron_shared.testing import KafkaProbe

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HANDLERS: dict[type[Contract], Callable[[Any, Any], Awaitable[None]]] = {
    OrderPlaced: record_order_event,
    OrderPaid: record_order_event,
    OrderRefunded: record_order_event,
    OrderCancelled: record_order_event,
}


@pytest.fixture
async def probe(kafka_bootstrap: str) -> AsyncIterator[KafkaProbe]:
    kafka = KafkaProbe(kafka_bootstrap)
    await kafka.start()
    yield kafka
    await kafka.stop()


class Shop:
    """Publishes one customer's order events the way an order service does."""

    def __init__(self, probe: KafkaProbe, tenant: str, customer_id: str) -> None:
        self.probe, self.tenant, self.customer_id = probe, tenant, customer_id

    def ids(self, order_id: str) -> dict[str, Any]:
        return {"order_id": order_id, "customer_id": uuid.UUID(self.customer_id)}

    def placed(self, order_id: str, total: str, minutes: int = 0) -> OrderPlaced:
        return OrderPlaced(
            **self.ids(order_id),
            currency="USD",
            total=Decimal(total),
            placed_at=T0 + timedelta(minutes=minutes),
        )

    def refunded(self, order_id: str, amount: str) -> OrderRefunded:
        return OrderRefunded(
            **self.ids(order_id), amount=Decimal(amount), currency="USD", refunded_at=T0
        )

    def cancelled(self, order_id: str) -> OrderCancelled:
        return OrderCancelled(**self.ids(order_id), cancelled_at=T0 + timedelta(hours=1))

    async def publish(self, *events: Contract) -> None:
        for event in events:
            envelope = build_envelope(event, tenant_id=self.tenant, source="orders-service")
            await self.publish_bytes(envelope.to_json_bytes())

    async def publish_bytes(self, value: bytes) -> None:
        await self.probe.publish(Topic.ORDER_EVENTS, value, key=self.customer_id)


async def new_customer(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post("/api/v1/customers", json={"email": email}, headers=admin)
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def stats_when(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    customer_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout_s: float = 20.0,
) -> dict[str, Any]:
    """The customer once `done(body)` holds (or as it is at the deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        body: dict[str, Any] = (
            await client.get(f"/api/v1/customers/{customer_id}", headers=admin)
        ).json()
        if done(body) or loop.time() > deadline:
            return body
        await asyncio.sleep(0.1)


def figures(body: dict[str, Any]) -> tuple[int, str, str | None]:
    return body["total_orders"], body["total_spent"], body["avg_order_value"]


async def test_a_refund_that_arrives_before_its_order_is_applied_when_the_order_comes(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    shop = Shop(probe, tenant, customer_id)

    await shop.publish(shop.refunded("R-1", "30.00"), shop.placed("R-1", "100.00"))

    body = await stats_when(client, admin, customer_id, lambda b: b["total_orders"] == 1)
    assert figures(body) == (1, "70.00", "70.00")


async def test_a_cancelled_order_leaves_the_statistics(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    shop = Shop(probe, tenant, customer_id)
    await shop.publish(shop.placed("C-1", "100.00", 0), shop.placed("C-2", "50.00", 5))
    body = await stats_when(client, admin, customer_id, lambda b: b["total_orders"] == 2)
    assert figures(body) == (2, "150.00", "75.00")

    await shop.publish(shop.cancelled("C-1"))

    body = await stats_when(client, admin, customer_id, lambda b: b["total_orders"] == 1)
    assert figures(body) == (1, "50.00", "50.00")
    assert body["first_order_at"] == "2026-11-20T10:05:00Z"


async def test_a_refund_delivered_twice_reduces_spend_once(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    shop = Shop(probe, tenant, customer_id)
    refund = build_envelope(shop.refunded("D-1", "25.00"), tenant_id=tenant, source="orders")

    await shop.publish(shop.placed("D-1", "100.00"))
    await shop.publish_bytes(refund.to_json_bytes())
    await shop.publish_bytes(refund.to_json_bytes())
    # Same key, same partition: once this later order counts, both copies were handled.
    await shop.publish(shop.placed("D-2", "10.00", 1))

    body = await stats_when(client, admin, customer_id, lambda b: b["total_orders"] == 2)
    assert figures(body) == (2, "85.00", "42.50")


async def test_partial_refunds_reduce_spend_and_the_history_shows_them(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    customer_id = await new_customer(client, admin)
    shop = Shop(probe, tenant, customer_id)
    await shop.publish(
        shop.placed("P-1", "200.00"),
        shop.refunded("P-1", "20.00"),
        shop.refunded("P-1", "30.25"),
    )

    body = await stats_when(client, admin, customer_id, lambda b: b["total_spent"] == "149.75")
    assert figures(body) == (1, "149.75", "149.75")
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        history, total = await uow.orders.list_for_customer(
            uuid.UUID(customer_id), offset=0, limit=10
        )
    assert total == 1
    assert (history[0].status, history[0].refunded_amount) == ("placed", Decimal("50.25"))


# --- the SQL statistics are the domain fold ------------------------------------------------


def random_events(rnd: random.Random, customer_id: uuid.UUID) -> list[Contract]:
    """Placed, paid, refunded and cancelled events of a few orders, some never placed."""
    events: list[Contract] = []
    for n in range(rnd.randint(2, 6)):
        ids = {"order_id": f"X-{n}", "customer_id": customer_id}
        currency = rnd.choice(["USD", "EUR"])
        total = Decimal(rnd.randint(0, 30_000)) / 100
        if rnd.random() < 0.8:
            placed_at = T0 + timedelta(minutes=rnd.randint(0, 1))  # ties happen
            events.append(
                OrderPlaced(
                    **ids,
                    currency=currency,
                    total=total,
                    placed_at=placed_at,
                    order_number=f"#{n}",
                    channel="web",
                    items=[{"name": "Tee", "quantity": 1, "unit_price": total}],
                )
            )
        if rnd.random() < 0.5:
            events.append(OrderPaid(**ids, amount=total, currency=currency, paid_at=T0))
        for _ in range(rnd.randint(0, 3)):
            events.append(
                OrderRefunded(
                    **ids,
                    amount=Decimal(rnd.randint(0, 20_000)) / 100,
                    currency=rnd.choice([currency, currency, "GBP"]),
                    refunded_at=T0,
                )
            )
        if rnd.random() < 0.25:
            events.append(OrderCancelled(**ids, cancelled_at=T0))
    return events


@pytest.mark.parametrize("seed", range(12))
async def test_the_stored_statistics_are_the_domain_fold_over_the_stored_orders(
    runtime: ServiceRuntime, tenant: str, seed: int
) -> None:
    rnd = random.Random(seed)
    customer_id = uuid.uuid4()
    messages = [(uuid.uuid4(), e) for e in random_events(rnd, customer_id)]
    deliveries: list[tuple[uuid.UUID, Contract] | None] = [
        *messages,
        *rnd.sample(messages, k=len(messages) // 2),  # redelivered past the inbox
    ]
    rnd.shuffle(deliveries)
    deliveries.insert(rnd.randint(0, len(deliveries)), None)  # the customer, at some point

    def uow(causation_id: uuid.UUID | None = None) -> ProfileUnitOfWork:
        return ProfileUnitOfWork(
            runtime.session_factory,
            runtime.messaging,
            tenant_id=tenant,
            source="tests",
            causation_id=str(causation_id) if causation_id else None,
        )

    for delivery in deliveries:
        if delivery is None:
            values = {"email": f"fold-{customer_id.hex[:10]}@example.com"}
            await create_customer(uow(), values, rules=ContactRules(), customer_id=customer_id)
        else:
            message_id, event = delivery
            await HANDLERS[type(event)](uow(message_id), event)

    async with uow() as reader:
        customer = await reader.customers.get(customer_id)
        sql_stats = await reader.orders.stats_for(customer_id)
        history, total = await reader.orders.list_for_customer(customer_id, offset=0, limit=100)
        pending = await reader.session.scalar(
            text("SELECT count(*) FROM orders WHERE customer_id = :c AND status = 'pending'"),
            {"c": customer_id},
        )
    assert customer is not None
    assert customer.stats == sql_stats == OrderStats.from_orders(history)
    assert total == len(history) == len({e.order_id for e in events_placed(messages)})
    assert [(r.placed_at, r.order_id) for r in history] == sorted(
        ((r.placed_at, r.order_id) for r in history), reverse=True
    )
    assert all(isinstance(r, OrderRecord) and r.refunded_amount <= r.total for r in history)
    unplaced = {e.order_id for _, e in messages} - {e.order_id for e in events_placed(messages)}
    cancelled = {e.order_id for _, e in messages if isinstance(e, OrderCancelled)}
    assert pending == len(unplaced - cancelled)


def events_placed(messages: list[tuple[uuid.UUID, Contract]]) -> list[OrderPlaced]:
    return [e for _, e in messages if isinstance(e, OrderPlaced)]


async def test_refunds_are_hidden_from_other_tenants_by_row_level_security(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    refund = OrderRefunded(
        order_id="RLS-1", customer_id=customer_id, amount=Decimal(1), currency="USD", refunded_at=T0
    )
    writer = runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant)
    await record_order_event(writer, refund)

    counts = {}
    for who in (tenant, "nobody-else"):
        async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=who) as uow:
            counts[who] = await uow.session.scalar(
                text("SELECT count(*) FROM order_refunds WHERE order_id = 'RLS-1'")
            )
    assert counts == {tenant: 1, "nobody-else": 0}
