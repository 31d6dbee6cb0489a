"""Steps several end-to-end tests share: a customer created through the gateway, orders
announced on Kafka, the mail the SMTP sink received, and whether a customer's GDPR export
shows every service knowing them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from patron_shared.events import OrderPaid, OrderPlaced, Topic, build_envelope
from patron_shared.testing import KafkaProbe

SERVICES = ("profile", "identity", "segmentation", "loyalty", "notifications")


async def create_customer(
    gateway: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> str:
    created = await gateway.post("/api/v1/customers", json=fields, headers=headers)
    assert created.status_code == 201, created.text
    customer_id: str = created.json()["id"]
    return customer_id


async def emails_to(stack: dict[str, str], recipient: str) -> list[dict[str, Any]]:
    """What the SMTP sink received for `recipient`, oldest first."""
    async with httpx.AsyncClient(base_url=stack["PATRON_SMTP_SINK_URL"], timeout=15) as sink:
        response = await sink.get("/messages")
    response.raise_for_status()
    return [m for m in response.json() if recipient in m["recipients"]]


async def place_order(
    probe: KafkaProbe, tenant: str, customer_id: str, order_id: str, total: str
) -> None:
    """OrderPlaced (EUR, two enamel mugs) for the customer, as the orders service announces."""
    event = OrderPlaced(
        order_id=order_id,
        customer_id=uuid.UUID(customer_id),
        currency="EUR",
        total=Decimal(total),
        placed_at=datetime.now(UTC),
        items=[{"sku": "MUG-1", "name": "Enamel mug", "quantity": 2, "unit_price": "12.50"}],
    )
    envelope = build_envelope(event, tenant_id=tenant, source="orders-service")
    await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)


async def publish_paid_order(
    probe: KafkaProbe, tenant: str, customer_id: str, order_id: str, total: str
) -> None:
    """OrderPlaced then OrderPaid (USD) for the customer, as the orders service announces."""
    now = datetime.now(UTC)
    customer = uuid.UUID(customer_id)
    for event in (
        OrderPlaced(
            order_id=order_id,
            customer_id=customer,
            currency="USD",
            total=Decimal(total),
            placed_at=now,
        ),
        OrderPaid(
            order_id=order_id,
            customer_id=customer,
            amount=Decimal(total),
            currency="USD",
            paid_at=now,
        ),
    ):
        envelope = build_envelope(event, tenant_id=tenant, source="orders-service")
        await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)


def known_everywhere(document: dict[str, Any]) -> bool:
    """The export holds every service's part, each with the customer's order, points and
    a sent message in it."""
    parts = document["services"]
    if document["missing"] or any(parts[name] is None for name in SERVICES):
        return False
    return bool(
        parts["profile"]["orders"]
        and parts["identity"]["customer"]
        and parts["segmentation"]["orders"]
        and parts["loyalty"]["points_ledger"]
        and any(d["status"] == "sent" for d in parts["notifications"]["deliveries"])
    )
