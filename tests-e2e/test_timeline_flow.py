"""Across the running stack: a customer, an order on Kafka, a note, a consent change and a
points adjustment -> the customer's timeline through the gateway, newest first; and the
messages sent to it, its tier change and a merge, from the other services."""

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

from .journeys import create_customer, publish_paid_order
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


async def test_the_timeline_shows_messages_sent_a_tier_change_and_a_merge(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    tag = uuid.uuid4().hex[:8]
    customer_id = await create_customer(
        gateway, headers, email=f"e2e-story-{tag}@example.com", first_name="Story"
    )
    other_id = await create_customer(gateway, headers, email=f"e2e-twin-{tag}@example.com")
    base = f"/api/v1/customers/{customer_id}/timeline"

    # 110 USD paid at Bronze's 10 points a unit: 1,100 points, Silver from 1,000
    await publish_paid_order(probe, tenant, customer_id, f"E2E-S-{tag}", "110.00")

    async def kinds_seen(*wanted: str) -> set[str] | None:
        response = await gateway.get(base, params={"per_page": 100}, headers=headers)
        if response.status_code != 200:
            return None
        kinds = {entry["kind"] for entry in response.json()["data"]}
        return kinds if set(wanted) <= kinds else None

    # the welcome (NotificationSent from notifications) and the tier (TierChanged, loyalty)
    assert await eventually(lambda: kinds_seen("notification_sent", "tier_changed")) is not None
    merged = await gateway.post(
        "/api/v1/customers/merge",
        json={"primary_id": customer_id, "secondary_id": other_id},
        headers=headers,
    )
    assert merged.status_code in (200, 201), merged.text

    kinds = await eventually(lambda: kinds_seen("customers_merged"))
    assert kinds is not None
    assert {"order_placed", "order_paid", "notification_sent", "tier_changed"} <= kinds
    entries = (await gateway.get(base, params={"per_page": 100}, headers=headers)).json()["data"]
    by_kind = {entry["kind"]: entry for entry in entries}
    assert by_kind["tier_changed"]["summary"]["tier"] == "silver"
    assert by_kind["customers_merged"]["summary"]["merged_customer_id"] == other_id
    moments = [entry["occurred_at"] for entry in entries]
    assert moments == sorted(moments, reverse=True)
