"""Order events on a real Kafka topic, consumed in batches into a real database: the facts,
memberships and announcements come out as the orders imply, however the events were batched,
with a redelivered message and a poison one among them."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from patron_segmentation.adapters.tables import customer_facts, messaging
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.consumers.orders import build_order_consumer
from patron_segmentation.service.orders import record_order_events
from patron_shared.events import (
    CONTRACTS,
    Contract,
    Delivery,
    Envelope,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    build_envelope,
    dead_letter_topic,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import DeadLetterPublisher, create_broker
from patron_shared.orders import apply_order_event
from patron_shared.testing import KafkaProbe, wait_for_assignment

pytestmark = pytest.mark.integration
CUSTOMERS = 40
PARTITIONS = 12  # as the local stack's topics have


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names]
        )
    finally:
        await admin.close()


def history(tenant: str, customer_id: uuid.UUID, n: int) -> list[Envelope]:
    """Customer n: n % 4 + 1 orders of 100, each paid, the first refunded 30 when n is odd."""
    placed_at = utcnow() - timedelta(days=2)
    events: list[Contract] = []
    for k in range(n % 4 + 1):
        order_id = f"{customer_id.hex[:8]}-{k}"
        events += [
            OrderPlaced(
                order_id=order_id,
                customer_id=customer_id,
                currency="USD",
                total=Decimal("100"),
                placed_at=placed_at,
            ),
            OrderPaid(
                order_id=order_id,
                customer_id=customer_id,
                amount=Decimal("100"),
                currency="USD",
                paid_at=placed_at,
            ),
        ]
    if n % 2:
        events.append(
            OrderRefunded(
                order_id=f"{customer_id.hex[:8]}-0",
                customer_id=customer_id,
                amount=Decimal("30"),
                currency="USD",
                refunded_at=placed_at,
            )
        )
    return [build_envelope(event, tenant_id=tenant, source="orders") for event in events]


async def facts_of(runtime: ServiceRuntime, tenant: str) -> dict[uuid.UUID, tuple[int, Decimal]]:
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(
                customer_facts.c.customer_id,
                customer_facts.c.order_count,
                customer_facts.c.total_spent,
            )
        )
        return {row.customer_id: (row.order_count, row.total_spent) for row in rows}


async def inbox_count(runtime: ServiceRuntime, tenant: str) -> int:
    inbox = messaging.inbox
    async with runtime.engine.connect() as connection:
        count: int = await connection.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.tenant_id == tenant)
        )
    return count


async def announced(runtime: ServiceRuntime, tenant: str) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.payload).where(
                outbox.c.tenant_id == tenant, outbox.c.message_type == "SegmentEntered"
            )
        )
        return [row.payload for row in rows]


def batches_handled(consumer: str) -> tuple[float, float]:
    """(batches, messages in them) the consumer handled whole so far."""
    count = REGISTRY.get_sample_value("patron_consumer_batch_size_count", {"consumer": consumer})
    total = REGISTRY.get_sample_value("patron_consumer_batch_size_sum", {"consumer": consumer})
    return count or 0.0, total or 0.0


async def test_order_events_consumed_in_batches_give_every_customer_the_facts_its_orders_imply(
    runtime: ServiceRuntime, tenant: str, kafka_bootstrap: str
) -> None:
    topic = f"test.orders.{uuid.uuid4().hex[:10]}"
    await create_topics(kafka_bootstrap, topic, dead_letter_topic(topic))
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    envelopes = [e for n, c in enumerate(customers) for e in history(tenant, c, n)]
    probe = KafkaProbe(kafka_bootstrap)
    await probe.start()
    # Everything is on the topic before the consumer starts, so its first polls are full.
    redelivered = envelopes[5]
    for envelope in [*envelopes[:100], redelivered, *envelopes[100:]]:
        await probe.publish(topic, envelope.to_json_bytes(), key=envelope.subject)
    await probe.publish(topic, b"this is not an envelope", key=str(customers[0]))
    dlq_start = await probe.end_offsets(dead_letter_topic(topic))
    broker = create_broker(kafka_bootstrap, client_id="segmentation-batch-test")
    # the topic is new: its consumer reads it from the start; two consumers of the group
    # share its partitions, as in production (tests otherwise run one)
    from_the_start = replace(
        runtime,
        settings=runtime.settings.model_copy(
            update={"consumer_offset_reset": "earliest", "consumer_batch_concurrency": 2}
        ),
    )
    consumer = build_order_consumer(from_the_start, topic)
    consumer.subscribe(broker, DeadLetterPublisher(broker))
    # several consumers of the group share the partitions, each taking batches
    assert len(broker.subscribers) == from_the_start.settings.consumer_batch_concurrency > 1
    before = batches_handled(consumer.name)
    await broker.start()
    try:
        await wait_for_assignment(broker)
        expected = {
            c: (n % 4 + 1, Decimal(100 * (n % 4 + 1) - (30 if n % 2 else 0)))
            for n, c in enumerate(customers)
        }
        for _ in range(300):
            if await facts_of(runtime, tenant) == expected:
                break
            await asyncio.sleep(0.1)
        assert await facts_of(runtime, tenant) == expected
        dead = await probe.collect(
            dead_letter_topic(topic), dlq_start, until=lambda records: len(records) >= 1
        )
    finally:
        await consumer.offsets.close()
        await broker.stop()
        await probe.stop()

    assert [record.value for record in dead] == [b"this is not an envelope"]
    assert await inbox_count(runtime, tenant) == len(envelopes)
    batches, messages = (a - b for a, b in zip(batches_handled(consumer.name), before, strict=True))
    assert messages > batches >= 1  # batched, not one by one
    # every customer entered "active" with its first order, caused by one of its own messages
    entered = [
        e
        for e in await announced(runtime, tenant)
        if e["data"]["segment_key"] == "engagement_active"
    ]
    assert Counter(e["subject"] for e in entered) == Counter(str(c) for c in customers)
    own = {str(e.id): e.subject for e in envelopes}
    assert all(own[e["causation_id"]] == e["subject"] for e in entered)


async def test_two_transactions_making_one_order_never_lose_an_event(
    runtime: ServiceRuntime, tenant: str
) -> None:
    """The order is new to both: the second to save fails on the key, and handled again it
    finds the first one's order and adds its own event."""
    customer_id = uuid.uuid4()
    placed, paid = history(tenant, customer_id, 0)  # one order: placed, then paid

    def batch_of(envelope: Envelope) -> tuple[SegmentationUnitOfWork, list[Delivery[Any]]]:
        uow = SegmentationUnitOfWork.for_deliveries(
            runtime.session_factory,
            runtime.messaging,
            source="segmentation",
            consumer="race-test",
            tenant_id=tenant,
            envelopes=[envelope],
        )
        return uow, [Delivery(envelope, CONTRACTS.parse_data(envelope))]

    late_uow, late = batch_of(paid)
    order_id = late[0].event.order_id
    async with late_uow:
        missing = await late_uow.orders.lock({order_id: customer_id})
        assert missing[order_id].placed_at is None  # new to it
        await record_order_events(*batch_of(placed))  # meanwhile, the other commits
        folded = apply_order_event(
            missing[order_id], late[0].event, event_id=paid.id, owner=customer_id
        )
        with pytest.raises(IntegrityError):
            await late_uow.orders.save([folded])

    await record_order_events(*batch_of(paid))  # as the consumer's retry does

    assert (await facts_of(runtime, tenant))[customer_id] == (1, Decimal("100"))
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        [order] = (await uow.orders.of_customers([customer_id]))[customer_id]
    assert order.paid_at is not None
