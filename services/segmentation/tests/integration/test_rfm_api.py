"""RFM on a real database: SQL scores the buyers exactly as the domain's quintiles do."""

from __future__ import annotations

import httpx
import pytest

from patron_segmentation.domain.rfm import quintile, rfm_segment
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

from .test_segments_api import customer

pytestmark = pytest.mark.integration

# (order totals, days since the first of them): ties in frequency and in spend included
BUYERS = [
    (["100"], 3),
    (["100"], 30),
    (["50", "50"], 10),
    (["500", "500", "500"], 200),
    (["10"] * 6, 400),
    (["2000"], 1),
    (["20", "30", "50"], 60),
]


async def test_scores_and_segments_match_the_domains_quintiles(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    ids = [
        await customer(runtime, tenant, tags=[], spent=spent, days_ago=days)
        for spent, days in BUYERS
    ]
    await customer(runtime, tenant, tags=[], spent=[])  # no order: no score
    headers = bearer_headers(tenant, "analyst")
    # the last order is placed `days` days ago (the others before it)
    recency = sorted(-days for _, days in BUYERS)
    frequency = sorted(len(spent) for spent, _ in BUYERS)
    monetary = sorted(sum(int(s) for s in spent) for spent, _ in BUYERS)

    for customer_id, (spent, days) in zip(ids, BUYERS, strict=True):
        expected = (
            quintile(-days, recency),
            quintile(len(spent), frequency),
            quintile(sum(int(s) for s in spent), monetary),
        )
        response = await client.get(f"/api/v1/customers/{customer_id}/rfm", headers=headers)
        body = response.json()
        assert (body["recency"], body["frequency"], body["monetary"]) == expected, spent
        assert body["segment"] == rfm_segment(expected[0], expected[1])

    distribution = (await client.get("/api/v1/customers/rfm", headers=headers)).json()
    assert distribution["customers"] == len(BUYERS)
    assert sum(distribution["segments"].values()) == len(BUYERS)
    assert distribution["monetary"]["5"] >= 1
    assert distribution["frequency"] == {
        str(s): sum(1 for spent, _ in BUYERS if quintile(len(spent), frequency) == s)
        for s in range(1, 6)
    }


async def test_a_customer_without_orders_has_no_rfm_score(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    idle = await customer(runtime, tenant, tags=[], spent=[])

    response = await client.get(
        f"/api/v1/customers/{idle}/rfm", headers=bearer_headers(tenant, "analyst")
    )

    assert response.status_code == 404
    assert "no counted order" in response.json()["detail"]
