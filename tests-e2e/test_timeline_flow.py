"""Across the running stack: a customer, an order on Kafka, a note, a consent change and a
points adjustment -> the customer's timeline through the gateway, newest first."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from patron_shared.events import OrderPlaced, Topic, build_envelope
from patron_shared.testing import KafkaProbe

from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e

# What this test makes happen (loyalty also answers the order with points earned).
KINDS = ["order_placed", "note_added", "consent_changed", "points_adjusted"]


async def test_the_timeline_lists_orders_notes_consents_and_points_newest_first(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    created = await gateway.post(
        "/api/v1/customers", json={"email": "e2e-timeline@example.com"}, headers=headers
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    base = f"/api/v1/customers/{customer_id}"

    order = OrderPlaced(
        order_id=f"E2E-T-{uuid.uuid4().hex[:8]}",
        customer_id=uuid.UUID(customer_id),
        currency="USD",
        total=Decimal("60.00"),
        placed_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    envelope = build_envelope(order, tenant_id=tenant, source="orders-service")
    await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)

    async def timeline_with(count: int) -> list[dict[str, Any]] | None:
        response = await gateway.get(f"{base}/timeline", params={"kind": KINDS}, headers=headers)
        if response.status_code != 200:
            return None
        data: list[dict[str, Any]] = response.json()["data"]
        return data if len(data) >= count else None

    assert await eventually(lambda: timeline_with(1)) is not None
    note = {"type": "support", "body": "Asked about delivery times"}
    noted = await gateway.post(f"{base}/notes", json=note, headers=headers)
    assert noted.status_code == 201, noted.text
    await asyncio.sleep(0.01)
    consent = {"purpose": "email_marketing", "granted": True, "source": "e2e"}
    consented = await gateway.post(f"{base}/consents", json=consent, headers=headers)
    assert consented.is_success, consented.text
    await asyncio.sleep(0.01)
    adjusted = await gateway.post(
        f"{base}/points", json={"points": 25, "reason": "Welcome gift"}, headers=headers
    )
    assert adjusted.status_code == 201, adjusted.text

    entries = await eventually(lambda: timeline_with(4))

    assert entries is not None
    assert [entry["kind"] for entry in entries] == [
        "points_adjusted",
        "consent_changed",
        "note_added",
        "order_placed",
    ]
    assert entries[0]["summary"]["points"] == 25
    assert entries[3]["summary"]["order_id"] == order.order_id
    assert entries[3]["id"] == str(envelope.id)
    moments = [entry["occurred_at"] for entry in entries]
    assert moments == sorted(moments, reverse=True)
