"""Segmentation and loyalty events through the real broker keep the profile's mirror fields."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from patron_shared.events import (
    Contract,
    PointsEarned,
    PointsRedeemed,
    SegmentEntered,
    SegmentExited,
    TierChanged,
    VipStatusChanged,
    build_envelope,
)
from patron_shared.testing import KafkaProbe

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
async def probe(kafka_bootstrap: str) -> AsyncIterator[KafkaProbe]:
    kafka = KafkaProbe(kafka_bootstrap)
    await kafka.start()
    yield kafka
    await kafka.stop()


async def publish(probe: KafkaProbe, tenant: str, *events: Contract) -> None:
    for event in events:
        envelope = build_envelope(event, tenant_id=tenant, source="tests")
        await probe.publish(event.topic, envelope.to_json_bytes(), key=str(envelope.subject))


async def eventually(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def test_vip_segments_points_and_tier_follow_the_other_services_events(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    created = await client.post(
        "/api/v1/customers", json={"email": "mirror@example.com"}, headers=admin
    )
    customer_id = uuid.UUID(created.json()["id"])
    entered = SegmentEntered(
        customer_id=customer_id, segment_key="loyal", segment_name="Loyal", at=NOW
    )
    await publish(
        probe,
        tenant,
        VipStatusChanged(customer_id=customer_id, is_vip=True, reason="spend", changed_at=NOW),
        entered,
        SegmentEntered(
            customer_id=customer_id, segment_key="at_risk", segment_name="At risk", at=NOW
        ),
        entered,  # the same membership announced again (a new message): still one entry
        SegmentExited(
            customer_id=customer_id, segment_key="at_risk", segment_name="At risk", at=NOW
        ),
        PointsEarned(
            customer_id=customer_id, points=500, balance=500, reason="order", earned_at=NOW
        ),
        PointsRedeemed(
            customer_id=customer_id,
            points=200,
            balance=300,
            discount="2.00",
            currency="USD",
            redeemed_at=NOW,
        ),
        TierChanged(customer_id=customer_id, tier="Silver", direction="upgrade", changed_at=NOW),
    )
    url = f"/api/v1/customers/{customer_id}"

    async def mirrored() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(url, headers=admin)).json()
        return body if body["loyalty_tier"] == "Silver" else None

    body = await eventually(mirrored)
    assert body is not None
    assert body["is_vip"] is True
    assert body["segments"] == ["loyal"]
    assert body["loyalty_points"] == 300
    vips = (await client.get("/api/v1/customers?is_vip=true&segment=loyal", headers=admin)).json()
    assert [c["id"] for c in vips["data"]] == [str(customer_id)]


async def test_events_about_unknown_customers_are_ignored_not_dead_lettered(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    stranger = uuid.uuid4()
    marker = await client.post(
        "/api/v1/customers", json={"email": "after@example.com"}, headers=admin
    )
    marker_id = uuid.UUID(marker.json()["id"])

    await publish(
        probe,
        tenant,
        TierChanged(customer_id=stranger, tier="Gold", direction="upgrade", changed_at=NOW),
        TierChanged(customer_id=marker_id, tier="Gold", direction="upgrade", changed_at=NOW),
    )

    async def marker_applied() -> bool:
        body = (await client.get(f"/api/v1/customers/{marker_id}", headers=admin)).json()
        return bool(body["loyalty_tier"] == "Gold")

    assert await eventually(marker_applied)
    missing = await client.get(f"/api/v1/customers/{stranger}", headers=admin)
    assert missing.status_code == 404
