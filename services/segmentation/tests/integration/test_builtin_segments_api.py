"""`/api/v1/customers/segments` and `/api/v1/customers/vip` on a real database."""

from __future__ import annotations

import httpx
import pytest

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.domain.builtin_segments import BuiltinThresholds, builtin_segments
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

from .test_segments_api import customer

pytestmark = pytest.mark.integration


async def test_the_counts_say_how_many_customers_each_built_in_segment_holds_now(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    vip = await customer(runtime, tenant, tags=[], spent=["60000"], days_ago=10)
    frequent = await customer(runtime, tenant, tags=[], spent=["10"] * 10, days_ago=100)
    await customer(runtime, tenant, tags=[], spent=["20", "30"], days_ago=5)
    await customer(runtime, tenant, tags=[], spent=[])

    response = await client.get(
        "/api/v1/customers/segments", headers=bearer_headers(tenant, "analyst")
    )
    listed = await client.get(
        "/api/v1/customers/vip?per_page=1", headers=bearer_headers(tenant, "analyst")
    )
    rest = await client.get(
        "/api/v1/customers/vip",
        params={"per_page": 1, "cursor": listed.json()["meta"]["next_cursor"]},
        headers=bearer_headers(tenant, "analyst"),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == {"label": "All customers", "count": 4, "rule": None}
    assert (body["vip"]["label"], body["vip"]["count"]) == ("VIP", 2)
    assert body["returning"]["count"] == 2
    assert body["at_risk"]["count"] == 1
    assert body["engagement_dormant"]["count"] == 1  # registered 400 days ago, never ordered
    assert body["vip"]["rule"] == "order_count >= 10 OR total_spent >= 50000"
    vips = [m["customer_id"] for m in (*listed.json()["data"], *rest.json()["data"])]
    assert vips == sorted([str(vip), str(frequent)])
    assert rest.json()["meta"]["next_cursor"] is None


async def test_counting_in_one_scan_agrees_with_counting_each_segment_alone(
    runtime: ServiceRuntime, tenant: str
) -> None:
    for spent, days in ((["5"], 3), (["5", "6"], 200), (["50000"], 40), ([], 0)):
        await customer(runtime, tenant, tags=[], spent=spent, days_ago=days)
    rules = [s.rule for s in builtin_segments(BuiltinThresholds())]
    now = utcnow()

    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        total, together = await uow.members.count_each(rules, now)
        alone = [await uow.members.count(rule, now) for rule in rules]

    assert total == 4
    assert together == alone
    assert sum(together) > 0
