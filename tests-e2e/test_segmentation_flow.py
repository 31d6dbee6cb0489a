"""Across the running stack: profile and order events -> Kafka -> segmentation -> segment
events on Kafka, and the reports through the gateway."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from patron_shared.events import OrderItem, OrderPlaced, Topic, build_envelope
from patron_shared.testing import KafkaProbe

from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e


async def test_orders_make_a_customer_vip_on_kafka_and_show_in_the_reports(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    created = await gateway.post(
        "/api/v1/customers",
        json={"email": "e2e-vip@example.com", "source": "shopify"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    since = await probe.end_offsets(Topic.SEGMENT_EVENTS)
    now = datetime.now(UTC)
    for n, total in enumerate(("30000.00", "25000.00")):
        order = OrderPlaced(
            order_id=f"E2E-VIP-{n}",
            customer_id=uuid.UUID(customer_id),
            currency="USD",
            total=Decimal(total),
            placed_at=now - timedelta(days=10 - n),
            items=[
                OrderItem(name="Sofa", category="Furniture", quantity=1, unit_price=Decimal(total))
            ],
        )
        envelope = build_envelope(order, tenant_id=tenant, source="orders-service")
        await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)

    def vip_events(records: list[Any]) -> list[dict[str, Any]]:
        found = [json.loads(r.value) for r in records if r.key == customer_id.encode()]
        return [e for e in found if e["type"] == "VipStatusChanged"]

    records = await probe.collect(
        Topic.SEGMENT_EVENTS, since, until=lambda rs: bool(vip_events(rs))
    )
    [vip] = vip_events(records)
    assert (vip["tenant_id"], vip["data"]["is_vip"]) == (tenant, True)

    async def value_counted() -> dict[str, Any] | None:
        response = await gateway.get("/api/v1/reports/value", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["orders"] == 2 else None

    value = await eventually(value_counted)
    assert value is not None
    assert (value["currency"], value["buyers"], value["revenue"]) == ("USD", 1, "55000.00")

    # the customer's own event may come after its orders' (another topic, another relay)
    async def registered() -> dict[str, int] | None:
        response = await gateway.get("/api/v1/reports/acquisition", headers=headers)
        by_source: dict[str, int] = response.json()["new_customers_by_source"]
        return by_source if by_source.get("shopify") else None

    assert await eventually(registered) == {"shopify": 1}
    pdf = await gateway.get(
        "/api/v1/reports/summary", headers={**headers, "Accept": "application/pdf"}
    )
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
