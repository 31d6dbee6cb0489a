"""Across the running stack: gateway -> profile -> outbox relay -> Kafka -> consumers."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from patron_cli.config import SERVICES, StackConfig
from patron_cli.processes import start, stop
from patron_cli.stack import relay_process
from patron_shared.events import OrderPlaced, Topic, build_envelope
from patron_shared.testing import KafkaProbe, unique_tenant

pytestmark = pytest.mark.e2e


async def eventually(check: Any, timeout_s: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.2)


def of_key(records: list[Any], key: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records if r.key == key.encode()]


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_every_service_is_ready_behind_the_gateway(
    gateway: httpx.AsyncClient, service: str
) -> None:
    response = await gateway.get(f"/services/{service}/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": True, "broker": True}


async def test_a_customer_created_through_the_gateway_is_announced_on_kafka(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    since = await probe.end_offsets(Topic.CUSTOMER_EVENTS)
    response = await gateway.post(
        "/api/v1/customers",
        json={"email": "e2e-created@example.com", "first_name": "Eve"},
        headers=auth(tenant),
    )
    assert response.status_code == 201, response.text
    customer_id = response.json()["id"]

    records = await probe.collect(
        Topic.CUSTOMER_EVENTS, since, until=lambda rs: bool(of_key(rs, customer_id))
    )
    [event] = of_key(records, customer_id)
    assert event["type"] == "CustomerCreated"
    assert event["tenant_id"] == tenant
    assert event["subject"] == customer_id
    assert event["data"]["customer"]["email"] == "e2e-created@example.com"


def order_placed(tenant: str, customer_id: str, order_id: str, total: str) -> Any:
    return build_envelope(
        OrderPlaced(
            order_id=order_id,
            customer_id=uuid.UUID(customer_id),
            currency="USD",
            total=Decimal(total),
            placed_at=datetime.now(UTC),
        ),
        tenant_id=tenant,
        source="orders-service",
    )


async def test_the_same_order_event_delivered_twice_changes_statistics_once(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    customer = (
        await gateway.post(
            "/api/v1/customers", json={"email": "twice@example.com"}, headers=headers
        )
    ).json()
    url = f"/api/v1/customers/{customer['id']}"
    event = order_placed(tenant, customer["id"], "E2E-1", "125.00")
    marker = order_placed(tenant, customer["id"], "E2E-2", "1.00")

    for envelope in (event, event, marker):
        await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer["id"])

    async def marker_counted() -> bool:
        return bool((await gateway.get(url, headers=headers)).json()["total_orders"] >= 2)

    assert await eventually(marker_counted)
    stats = (await gateway.get(url, headers=headers)).json()
    assert stats["total_orders"] == 2
    assert stats["total_spent"] == "126.00"


async def test_a_malformed_order_event_is_dead_lettered_and_the_consumer_keeps_going(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    customer = (
        await gateway.post(
            "/api/v1/customers", json={"email": "poison@example.com"}, headers=headers
        )
    ).json()
    since = await probe.end_offsets(Topic.ORDER_EVENTS.dlq)
    await probe.publish(Topic.ORDER_EVENTS, b'{"type": "OrderPlaced", "oops"', key=customer["id"])
    good = order_placed(tenant, customer["id"], "AFTER-POISON", "10.00")
    await probe.publish(Topic.ORDER_EVENTS, good.to_json_bytes(), key=customer["id"])

    async def good_counted() -> bool:
        url = f"/api/v1/customers/{customer['id']}"
        return bool((await gateway.get(url, headers=headers)).json()["total_orders"] == 1)

    assert await eventually(good_counted)
    # every consumer group of the order topic dead-letters the message for itself
    groups = {
        "profile.order-stats",
        "profile.timeline",
        "segmentation.order-projection",
        "loyalty.order-points",
        "notifications.orders",
    }
    dead = await probe.collect(
        Topic.ORDER_EVENTS.dlq,
        since,
        until=lambda rs: sum(r.key == customer["id"].encode() for r in rs) >= len(groups),
    )
    mine = [r for r in dead if r.key == customer["id"].encode()]
    assert [r.value for r in mine] == [b'{"type": "OrderPlaced", "oops"'] * len(groups)
    headers_of_dead = [{k: v.decode() for k, v in r.headers} for r in mine]
    assert {h["x-dlq-original-topic"] for h in headers_of_dead} == {Topic.ORDER_EVENTS.value}
    assert {h["x-dlq-consumer-group"] for h in headers_of_dead} == groups


async def test_events_written_while_the_relay_is_down_are_published_in_order_when_it_returns(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    config = StackConfig()
    profile = next(s for s in SERVICES if s.name == "profile")
    relay = relay_process(config, profile)
    headers = auth(tenant)
    since = await probe.end_offsets(Topic.CUSTOMER_EVENTS)
    stop(relay.name, run_dir=config.run_dir)
    try:
        ids = []
        for n in range(100):
            created = await gateway.post(
                "/api/v1/customers", json={"email": f"relay{n}@example.com"}, headers=headers
            )
            assert created.status_code == 201
            ids.append(created.json()["id"])
            renamed = await gateway.patch(
                f"/api/v1/customers/{ids[-1]}", json={"first_name": f"N{n}"}, headers=headers
            )
            assert renamed.status_code == 200
        await asyncio.sleep(1.0)
        assert (
            of_key(
                await probe.collect(
                    Topic.CUSTOMER_EVENTS, since, until=lambda _: False, timeout_s=0.5
                ),
                ids[0],
            )
            == []
        ), "events were published while the relay was stopped"
    finally:
        start(relay, run_dir=config.run_dir, log_dir=config.log_dir)

    wanted = set(ids)

    def all_arrived(records: list[Any]) -> bool:
        keys = [r.key.decode() for r in records if r.key and r.key.decode() in wanted]
        return len(keys) >= 200

    records = await probe.collect(Topic.CUSTOMER_EVENTS, since, until=all_arrived, timeout_s=60)
    for customer_id in ids:
        types = [e["type"] for e in of_key(records, customer_id)]
        assert types == ["CustomerCreated", "CustomerUpdated"], customer_id


async def test_a_request_without_a_token_is_refused_with_401(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_token_of_one_tenant_cannot_read_another_tenants_customer(
    gateway: httpx.AsyncClient, tenant: str, auth: Any
) -> None:
    created = await gateway.post(
        "/api/v1/customers", json={"email": "tenant-b@example.com"}, headers=auth(tenant)
    )
    other = auth(unique_tenant("e2e-other"))

    response = await gateway.get(f"/api/v1/customers/{created.json()['id']}", headers=other)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
