"""Across the running stack: a customer with orders (Kafka), points, a note, a consent, a
welcome email and a dead-lettered order event is anonymized (GDPR) -> every service
acknowledges, and no table of any service database (outbox and inbox included) and no
dead-letter topic holds the customer's email, phone or name any more, while the order
amounts and another customer's dead letters stay."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from patron_shared.events import Topic
from patron_shared.messaging.dead_letter_erasure import dead_letter_topics
from patron_shared.testing import KafkaProbe, find_values, partitions_of

from .journeys import known_everywhere, publish_paid_order
from .test_customer_flow import eventually, order_placed

pytestmark = pytest.mark.e2e
DATABASES = (
    "patron_profile",
    "patron_identity",
    "patron_segmentation",
    "patron_loyalty",
    "patron_notifications",
)


# Every consumer group of the order topic dead-letters a bad order event for itself.
ORDER_GROUPS = 5


def database_dsn(superuser_dsn: str, database: str) -> str:
    parts = urlsplit(superuser_dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def a_customer_known_everywhere(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, headers: dict[str, str]
) -> dict[str, Any]:
    marker = uuid.uuid4().hex[:10]
    person = {
        "email": f"erase-{marker}@e2e.example",
        "phone": f"+1415555{int(marker[:6], 16) % 10000:04d}",
        "first_name": f"Zelda{marker[:5]}",
        "last_name": f"Quist{marker[5:]}",
    }
    created = await gateway.post("/api/v1/customers", json=person, headers=headers)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    person["phone"] = created.json()["phone"]
    url = f"/api/v1/customers/{customer_id}"
    for path, body in (
        ("/notes", {"type": "general", "body": f"{person['first_name']} asked for a catalogue"}),
        (
            "/consents",
            {
                "purpose": "email_marketing",
                "granted": True,
                "source": "checkout",
                "ip_address": "203.0.113.7",
                "user_agent": f"Agent {marker}",
            },
        ),
        ("/addresses", {"type": "shipping", "address1": f"{marker} Lane", "country": "US"}),
    ):
        response = await gateway.post(url + path, json=body, headers=headers)
        assert response.status_code == 201, response.text
    order_id = f"E2E-ERASE-{marker}"
    await publish_paid_order(probe, tenant, customer_id, order_id, "80.00")

    async def everywhere() -> bool | None:
        response = await gateway.get(f"{url}/export", headers=headers)
        if response.status_code >= 500:  # a service restarting: ask again
            return None
        assert response.status_code == 200, response.text
        return True if known_everywhere(response.json()) else None

    assert await eventually(everywhere), "every service knows the customer"
    return {"id": customer_id, "order_id": order_id, **person}


async def dead_letter_an_order_of(
    probe: KafkaProbe, tenant: str, customer_id: str, person: dict[str, str]
) -> bytes:
    """An order event naming the customer and quoting its email and names that no consumer
    can handle (its total is no amount); the record published."""
    order = order_placed(tenant, customer_id, f"DLQ-{uuid.uuid4().hex[:8]}", "1")
    envelope = json.loads(order.to_json_bytes())
    envelope["data"] |= {
        "total": "a lot",
        "email": person["email"],
        "shipping_name": f"{person['first_name']} {person['last_name']}",
    }
    value = json.dumps(envelope).encode()
    await probe.publish(Topic.ORDER_EVENTS, value, key=customer_id)
    return value


async def every_dead_letter(bootstrap: str) -> list[Any]:
    """Every record of every dead-letter topic, from the first still kept to the last."""
    partitions = [
        TopicPartition(topic, partition)
        for topic in dead_letter_topics()
        for partition in await partitions_of(bootstrap, topic)
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                records += [r for r in batch.get(tp, []) if r.offset < ends[tp]]
        return records
    finally:
        await consumer.stop()


def from_a_test_run(record: Any) -> bool:
    """Dead-lettered by another test run's consumer group reading the stack's topics."""
    return bool(dict(record.headers).get("x-dlq-consumer-group", b"").startswith(b"test-"))


def mentions(record: Any, value: str) -> bool:
    text = b"".join([record.key or b"", record.value or b"", *(v for _, v in record.headers)])
    return value.lower().encode() in text.lower()


async def test_an_anonymized_customer_is_nowhere_in_any_service_database_but_its_amounts_stay(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any, stack: dict[str, str]
) -> None:
    headers = auth(tenant)
    customer = await a_customer_known_everywhere(gateway, probe, tenant, headers)
    values = [customer[key] for key in ("email", "phone", "first_name", "last_name")]
    marker = uuid.uuid4().hex[:8]
    bystander = {
        "id": str(uuid.uuid4()),
        "email": f"stays-{marker}@e2e.example",
        "first_name": f"Ada{marker[:4]}",
        "last_name": f"Byron{marker[4:]}",
    }
    since = await probe.end_offsets(Topic.ORDER_EVENTS.dlq)
    for person in (customer, bystander):
        await dead_letter_an_order_of(probe, tenant, person["id"], person)
    dead = await probe.collect(
        Topic.ORDER_EVENTS.dlq,
        since,
        until=lambda rs: all(
            sum(r.key == p["id"].encode() and not from_a_test_run(r) for r in rs) >= ORDER_GROUPS
            for p in (customer, bystander)
        ),
        timeout_s=60,
    )
    assert sum(mentions(r, customer["email"]) for r in dead) >= ORDER_GROUPS, "dead-lettered"

    erased = await gateway.delete(
        f"/api/v1/customers/{customer['id']}", params={"mode": "anonymize"}, headers=headers
    )
    assert erased.status_code == 202, erased.text
    status_url = erased.headers["location"]

    async def done() -> dict[str, Any] | None:
        response = await gateway.get(status_url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["status"] == "done" else None

    # the dead letters' scrub runs every 30 s, after the other services' acknowledgements
    status = await eventually(done, timeout_s=120)
    assert status is not None, "every service acknowledges the erasure"
    assert status["erasure_id"] == erased.json()["erasure_id"]
    assert {s["service"] for s in status["services"]} >= {
        "profile",
        "identity",
        "segmentation",
        "loyalty.points",
        "loyalty.credit",
        "notifications",
        "dead_letters",
    }

    superuser = stack["PATRON_PG_DSN"]
    leftovers = {
        database: await find_values(database_dsn(superuser, database), values)
        for database in DATABASES
    }
    assert leftovers == {database: [] for database in DATABASES}

    # The stack's own dead letters: another test run's consumer groups may dead-letter the
    # bad event at any time, after the scrub too.
    dead_letters = [
        record
        for record in await every_dead_letter(stack["PATRON_KAFKA_BOOTSTRAP"])
        if not from_a_test_run(record)
    ]
    found = {
        value: sum(mentions(record, value) for record in dead_letters)
        for value in [*values, customer["id"]]
    }
    assert found == dict.fromkeys([*values, customer["id"]], 0)
    # another customer's dead letters stay, once each
    theirs = [r for r in dead_letters if mentions(r, bystander["email"])]
    assert len(theirs) == ORDER_GROUPS
    assert len({dict(r.headers)["x-dlq-consumer-group"] for r in theirs}) == ORDER_GROUPS

    connection = await asyncpg.connect(database_dsn(superuser, "patron_profile"))
    try:
        total = await connection.fetchval(
            "SELECT total FROM orders WHERE tenant_id = $1 AND order_id = $2",
            tenant,
            customer["order_id"],
        )
    finally:
        await connection.close()
    assert total == Decimal("80.0000")

    async def read_back() -> int | None:
        response = await gateway.get(f"/api/v1/customers/{customer['id']}", headers=headers)
        return None if response.status_code >= 500 else response.status_code

    assert await eventually(read_back) == 404


async def test_erasure_needs_the_delete_scope(
    gateway: httpx.AsyncClient, tenant: str, auth: Any
) -> None:
    created = await gateway.post(
        "/api/v1/customers",
        json={"email": f"x-{uuid.uuid4().hex[:8]}@e2e.example"},
        headers=auth(tenant),
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/customers/{created.json()['id']}"

    support = await gateway.delete(path, params={"mode": "hard"}, headers=auth(tenant, "support"))

    assert support.status_code == 403, support.text
