"""Across the running stack: two customers with orders, points, a note and messages merge
into one (summed points, combined statistics, both message logs), and an unmerge gives
each back its own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from patron_shared.testing import KafkaProbe

from .journeys import publish_paid_order
from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e


async def test_two_customers_merge_into_one_and_an_unmerge_restores_both(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    run = uuid.uuid4().hex[:8]
    ids = []
    for name in ("keep", "fold"):
        created = await gateway.post(
            "/api/v1/customers",
            json={"email": f"{name}-{run}@e2e.example", "first_name": name.title()},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    primary, secondary = ids
    await publish_paid_order(probe, tenant, primary, f"M-{run}-1", "100.00")
    await publish_paid_order(probe, tenant, secondary, f"M-{run}-2", "50.00")
    note = await gateway.post(
        f"/api/v1/customers/{secondary}/notes",
        json={"type": "general", "body": "Prefers phone"},
        headers=headers,
    )
    assert note.status_code == 201, note.text

    async def points_of(customer_id: str, points: int) -> bool:
        response = await gateway.get(f"/api/v1/customers/{customer_id}/loyalty", headers=headers)
        return response.status_code == 200 and response.json()["points_balance"] == points

    async def messages_of(customer_id: str, count: int) -> bool:
        response = await gateway.get(
            f"/api/v1/customers/{customer_id}/notifications", headers=headers
        )
        return response.status_code == 200 and len(response.json()["data"]) == count

    # Bronze earns 10 points a unit; each customer got a welcome and a confirmation, and
    # the primary's 1,000 points reached Silver (a congratulation)
    assert await eventually(lambda: points_of(primary, 1_000))
    assert await eventually(lambda: points_of(secondary, 500))
    assert await eventually(lambda: messages_of(primary, 3))
    assert await eventually(lambda: messages_of(secondary, 2))

    merged = await gateway.post(
        "/api/v1/customers/merge",
        json={"primary_id": primary, "secondary_id": secondary},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text

    async def statistics_of(customer_id: str, orders: int, spent: str) -> bool:
        response = await gateway.get(f"/api/v1/customers/{customer_id}", headers=headers)
        body = response.json()
        return response.status_code == 200 and (body["total_orders"], body["total_spent"]) == (
            orders,
            spent,
        )

    assert await eventually(lambda: points_of(primary, 1_500)), "points summed"
    assert await eventually(lambda: statistics_of(primary, 2, "150.00")), "statistics combined"
    assert await eventually(lambda: messages_of(primary, 5)), "both message logs"
    gone = await gateway.get(f"/api/v1/customers/{secondary}", headers=headers)
    assert gone.status_code == 404
    assert gone.json()["merged_into"] == primary
    notes = await gateway.get(f"/api/v1/customers/{primary}/notes", headers=headers)
    assert "Prefers phone" in [n["body"] for n in notes.json()["data"]]

    unmerged = await gateway.post(
        "/api/v1/identity/unmerge",
        json={"survivor_id": primary, "merged_customer_id": secondary},
        headers=headers,
    )
    assert unmerged.status_code in (200, 202), unmerged.text

    assert await eventually(lambda: statistics_of(secondary, 1, "50.00")), "restored"
    assert await eventually(lambda: statistics_of(primary, 1, "100.00"))
    assert await eventually(lambda: points_of(secondary, 500)), "points given back"
    assert await eventually(lambda: points_of(primary, 1_000))
    assert await eventually(lambda: messages_of(secondary, 2)), "its own messages back"
    assert await eventually(lambda: messages_of(primary, 3))
