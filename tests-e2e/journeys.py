"""Steps several end-to-end tests share: a paid order announced on Kafka, and whether a
customer's GDPR export shows every service knowing them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from patron_shared.events import OrderPaid, OrderPlaced, Topic, build_envelope
from patron_shared.testing import KafkaProbe

SERVICES = ("profile", "identity", "segmentation", "loyalty", "notifications")


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
