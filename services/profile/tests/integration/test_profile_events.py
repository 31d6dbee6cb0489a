"""Events through the real broker: the outbox relay, the order consumer, the inbox, the DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from fastapi import FastAPI
from sqlalchemy import func, select, text

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.settings import ProfileSettings
from patron_shared.events import CLOUDEVENTS_CONTENT_TYPE, OrderPlaced, Topic, build_envelope
from patron_shared.messaging import OutboxRelay, create_producer
from patron_shared.testing import KafkaProbe

pytestmark = pytest.mark.integration


@pytest.fixture
async def probe(kafka_bootstrap: str) -> Any:
    kafka = KafkaProbe(kafka_bootstrap)
    await kafka.start()
    yield kafka
    await kafka.stop()


def order_envelope(tenant: str, customer_id: str, order_id: str, total: str) -> Any:
    return build_envelope(
        OrderPlaced(
            order_id=order_id,
            customer_id=uuid.UUID(customer_id),
            currency="USD",
            total=Decimal(total),
            placed_at=datetime(2026, 11, 20, 10, 14, 58, tzinfo=UTC),
        ),
        tenant_id=tenant,
        source="orders-service",
    )


async def wait_for(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def test_the_relay_publishes_a_customers_events_in_order_keyed_by_customer(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    service_app: FastAPI,
    probe: KafkaProbe,
    kafka_bootstrap: str,
) -> None:
    created = (
        await client.post("/api/v1/customers", json={"email": "order@example.com"}, headers=admin)
    ).json()
    for name in ("A", "B", "C"):
        await client.patch(
            f"/api/v1/customers/{created['id']}", json={"first_name": name}, headers=admin
        )
    since = await probe.end_offsets(Topic.CUSTOMER_EVENTS)
    runtime = service_app.state.runtime
    producer = create_producer(kafka_bootstrap, client_id="profile-relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(runtime.engine, messaging, producer, batch_size=1000)
        while await relay.publish_pending_batch():
            pass
    finally:
        await producer.stop()

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in records if r.key == created["id"].encode()]

    records = await probe.collect(Topic.CUSTOMER_EVENTS, since, until=lambda r: len(mine(r)) >= 4)
    events = mine(records)
    assert [e["type"] for e in events] == ["CustomerCreated"] + ["CustomerUpdated"] * 3
    assert [e["data"]["customer"]["first_name"] for e in events[1:]] == ["A", "B", "C"]
    assert {e["subject"] for e in events} == {created["id"]}
    # Only this customer's rows: the service's consumers may be writing others meanwhile.
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        unsent = await connection.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.message_key == created["id"], outbox.c.sent_at.is_(None))
        )
    assert unsent == 0


async def test_the_relay_puts_each_key_where_a_lone_send_would_and_keeps_its_order(
    service_app: FastAPI, probe: KafkaProbe, kafka_bootstrap: str, tenant: str
) -> None:
    # a topic of its own: 30 keys over 6 partitions, payloads large enough that a
    # partition's record batch fills up and the relay starts another mid-transaction
    topic = f"patron.test.relay.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 6, 1)])
    finally:
        await admin.close()
    keys = [f"key-{k}" for k in range(30)]
    runtime = service_app.state.runtime
    async with runtime.engine.begin() as connection:
        await connection.execute(
            messaging.outbox.insert(),
            [
                {
                    "message_id": uuid.uuid4(),
                    "topic": topic,
                    "message_key": keys[n % len(keys)],
                    "tenant_id": tenant,
                    "message_type": "RelayProbe",
                    "payload": {"n": n, "padding": "x" * 3000},
                    "headers": {"traceparent": f"trace-{n}"},
                }
                for n in range(240)
            ],
        )
    producer = create_producer(kafka_bootstrap, client_id="profile-relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(runtime.engine, messaging, producer, batch_size=500)
        while await relay.publish_pending_batch():
            pass
        # where the producer itself sends each key
        lone = {
            key: (await producer.send_and_wait(topic, b"{}", key=key.encode())).partition
            for key in keys
        }
    finally:
        await producer.stop()

    since = {TopicPartition(topic, p): 0 for p in range(6)}
    records = await probe.collect(topic, since, until=lambda r: len(r) >= 240 + len(keys))
    relayed = [r for r in records if r.value != b"{}"]
    assert len(relayed) == 240
    for k, key in enumerate(keys):
        mine = [r for r in relayed if r.key == key.encode()]
        assert {r.partition for r in mine} == {lone[key]}
        numbers = [json.loads(r.value)["n"] for r in sorted(mine, key=lambda r: r.offset)]
        assert numbers == list(range(k, 240, len(keys)))  # all of them, in outbox order
    first = relayed[0]
    headers = dict(first.headers)
    assert headers["content-type"] == CLOUDEVENTS_CONTENT_TYPE.encode()
    assert headers["traceparent"] == f"trace-{json.loads(first.value)['n']}".encode()


async def test_an_order_placed_twice_changes_the_statistics_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
) -> None:
    created = (
        await client.post("/api/v1/customers", json={"email": "buyer@example.com"}, headers=admin)
    ).json()
    url = f"/api/v1/customers/{created['id']}"
    first = order_envelope(tenant, created["id"], "O-1", "125.00")
    second = order_envelope(tenant, created["id"], "O-2", "75.00")

    for envelope in (first, first, second):
        await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=created["id"])

    async def both_counted() -> dict[str, Any] | None:
        body = (await client.get(url, headers=admin)).json()
        return body if body["total_orders"] >= 2 else None

    stats = await wait_for(both_counted)
    await asyncio.sleep(1.0)  # give a wrongly repeated delivery time to show up
    stats = (await client.get(url, headers=admin)).json()
    assert stats["total_orders"] == 2
    assert stats["total_spent"] == "200.00"
    assert stats["avg_order_value"] == "100.00"
    assert stats["first_order_at"] == "2026-11-20T10:14:58Z"


async def test_a_malformed_order_goes_to_the_dlq_and_the_consumer_keeps_going(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    service_settings: ProfileSettings,
) -> None:
    created = (
        await client.post("/api/v1/customers", json={"email": "dlq@example.com"}, headers=admin)
    ).json()
    since = await probe.end_offsets(Topic.ORDER_EVENTS.dlq)
    poison = order_envelope(tenant, created["id"], "BAD-1", "10.00").model_dump(mode="json")
    poison["data"]["total"] = 10.5  # a float: money must be a decimal string
    await probe.publish(Topic.ORDER_EVENTS, json.dumps(poison).encode(), key=created["id"])
    await probe.publish(Topic.ORDER_EVENTS, b"{not json", key=created["id"])
    good = order_envelope(tenant, created["id"], "GOOD-1", "10.00")
    await probe.publish(Topic.ORDER_EVENTS, good.to_json_bytes(), key=created["id"])

    async def counted() -> bool:
        body = (await client.get(f"/api/v1/customers/{created['id']}", headers=admin)).json()
        return bool(body["total_orders"] == 1)

    assert await wait_for(counted)
    group = service_settings.consumer_group_prefix + "profile.order-stats"

    def ours(records: list[Any]) -> list[Any]:
        # A running stack's own profile service dead-letters the same records under its
        # group; count only what this test's consumer wrote.
        return [
            r
            for r in records
            if r.key == created["id"].encode()
            and dict(r.headers).get("x-dlq-consumer-group") == group.encode()
        ]

    dead = await probe.collect(Topic.ORDER_EVENTS.dlq, since, until=lambda rs: len(ours(rs)) >= 2)
    mine = ours(dead)
    assert len(mine) == 2
    headers = {k: v.decode() for k, v in mine[0].headers}
    assert headers["x-dlq-original-topic"] == Topic.ORDER_EVENTS.value
    assert headers["x-dlq-error-type"] == "ValidationError"
    assert json.loads(mine[0].value)["data"]["total"] == 10.5  # the original bytes


async def test_row_level_security_hides_other_tenants_rows_even_from_raw_sql(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    service_app: FastAPI,
) -> None:
    await client.post("/api/v1/customers", json={"email": "rls@example.com"}, headers=admin)
    runtime = service_app.state.runtime

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id="nobody-else") as uow:
        visible = await uow.session.scalar(
            text("SELECT count(*) FROM customers WHERE email = 'rls@example.com'")
        )
    assert visible == 0
