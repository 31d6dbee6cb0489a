"""Across the running stack: a customer created at the profile and its orders on Kafka ->
loyalty points, tier, the card, adjustments and a redemption through the gateway, and the
loyalty events on Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from patron_shared.events import OrderPaid, OrderPlaced, OrderRefunded, Topic, build_envelope
from patron_shared.testing import KafkaProbe

from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e


async def test_orders_earn_points_that_show_on_the_card_and_can_be_redeemed(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    created = await gateway.post(
        "/api/v1/customers", json={"email": "e2e-loyalty@example.com"}, headers=headers
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    since = await probe.end_offsets(Topic.LOYALTY_EVENTS)
    now = datetime.now(UTC)
    customer = uuid.UUID(customer_id)
    # 120 charged, 10 of it shipping: 110 of merchandise at Bronze's 10 points per unit
    for event in (
        OrderPlaced(
            order_id="E2E-L-1",
            customer_id=customer,
            currency="USD",
            total=Decimal("120.00"),
            shipping_total=Decimal("10.00"),
            placed_at=now,
        ),
        OrderPaid(
            order_id="E2E-L-1",
            customer_id=customer,
            amount=Decimal("120.00"),
            currency="USD",
            paid_at=now,
        ),
    ):
        envelope = build_envelope(event, tenant_id=tenant, source="orders-service")
        await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)

    card_url = f"/api/v1/customers/{customer_id}/loyalty"

    async def card_with(points: int) -> dict[str, Any] | None:
        response = await gateway.get(card_url, headers=headers)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if body["points_balance"] == points else None

    card = await eventually(lambda: card_with(1_100))
    assert card is not None
    assert (card["tier"], card["cash_value"], card["currency"]) == ("silver", "11.00", "USD")

    adjusted = await gateway.post(
        f"/api/v1/customers/{customer_id}/points",
        json={"points": -100, "reason": "Correction"},
        headers=headers,
    )
    assert adjusted.status_code == 201, adjusted.text
    redeemed = await gateway.post(
        f"/api/v1/customers/{customer_id}/points/redeem", json={"points": 500}, headers=headers
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["discount"] == "5.00"
    assert redeemed.json()["points_balance"] == 500

    # a partial refund takes back its share of the points
    refund = OrderRefunded(
        order_id="E2E-L-1",
        customer_id=customer,
        amount=Decimal("12.00"),
        currency="USD",
        refunded_at=now,
    )
    envelope = build_envelope(refund, tenant_id=tenant, source="orders-service")
    await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)
    # 110 x (1 - 12/120) = 99 -> 990 points: 110 taken back
    assert await eventually(lambda: card_with(390)) is not None

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in records if r.key == customer_id.encode()]

    wanted = ["PointsEarned", "TierChanged", "PointsAdjusted", "PointsRedeemed"]
    wanted += ["PointsReversed", "TierChanged"]

    def arrived(records: list[Any]) -> bool:
        types = [e["type"] for e in mine(records)]
        return all(types.count(kind) >= wanted.count(kind) for kind in wanted)

    records = await probe.collect(Topic.LOYALTY_EVENTS, since, until=arrived)
    assert arrived(records)
    events = {e["type"]: e for e in mine(records)}
    assert events["PointsEarned"]["data"]["points"] == 1_100
    tiers = [e["data"] for e in mine(records) if e["type"] == "TierChanged"]
    assert [(t["tier"], t["direction"]) for t in tiers] == [
        ("silver", "upgrade"),
        ("bronze", "downgrade"),  # 990 points earned and kept: below Silver again
    ]
    assert events["PointsRedeemed"]["data"]["code"] == redeemed.json()["code"]
    assert events["PointsReversed"]["data"]["points"] == 110
    history = await gateway.get(f"/api/v1/customers/{customer_id}/points", headers=headers)
    assert [e["kind"] for e in history.json()["data"]] == ["reverse", "redeem", "adjust", "earn"]
