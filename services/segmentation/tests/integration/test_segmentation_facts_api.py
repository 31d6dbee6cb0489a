"""`GET /api/v1/segments/customers/{customer_id}/facts` on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.facts import delete_facts, record_facts
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerSnapshot
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
REGISTERED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def recorded(runtime: ServiceRuntime, tenant: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    customer = CustomerSnapshot(
        phone="+14155550123",
        tags=["vip"],
        status="disabled",
        created_at=REGISTERED,
        updated_at=REGISTERED,
    )
    event = CustomerCreated(customer_id=customer_id, customer=customer)
    await record_facts(runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant), event)
    return customer_id


def url(customer_id: uuid.UUID) -> str:
    return f"/api/v1/segments/customers/{customer_id}/facts"


async def test_a_customers_facts_are_read_through_the_api(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await recorded(runtime, tenant)

    response = await client.get(url(customer_id), headers=bearer_headers(tenant, "marketing"))

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": str(customer_id),
        "tags": ["vip"],
        "accepts_marketing": False,
        "status": "disabled",
        "registered_at": "2026-03-01T09:00:00Z",
        "source_updated_at": "2026-03-01T09:00:00Z",
        "orders": {
            "order_count": 0,
            "total_spent": "0.00",
            "currency": None,
            "average_order_value": None,
            "order_total_max": None,
            "order_total_min": None,
            "first_order_at": None,
            "last_order_at": None,
            "last_order_month": None,
            "categories": [],
        },
    }


async def test_unknown_deleted_or_foreign_facts_are_a_404_problem(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    kept, deleted = await recorded(runtime, tenant), await recorded(runtime, tenant)
    deletion = CustomerDeleted(customer_id=deleted, deleted_at=datetime.now(UTC))
    await delete_facts(runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant), deletion)
    admin, intruder = bearer_headers(tenant), bearer_headers(unique_tenant("intruder"))

    for customer_id, headers in ((uuid.uuid4(), admin), (deleted, admin), (kept, intruder)):
        response = await client.get(url(customer_id), headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_reading_facts_needs_the_segments_read_scope(
    client: httpx.AsyncClient, tenant: str
) -> None:
    response = await client.get(
        url(uuid.uuid4()), headers=bearer_headers(tenant, scopes=["loyalty:read"])
    )

    assert response.status_code == 403
    assert "segments:read" in response.json()["detail"]
