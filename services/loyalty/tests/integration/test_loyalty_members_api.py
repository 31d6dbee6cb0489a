"""`GET /api/v1/loyalty/members/{customer_id}` on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.service.members import close_membership, enroll_member
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerSnapshot
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def enrolled(runtime: ServiceRuntime, tenant: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    customer = CustomerSnapshot(phone="+14155550123", created_at=JOINED, updated_at=JOINED)
    event = CustomerCreated(customer_id=customer_id, customer=customer)
    await enroll_member(runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant), event)
    return customer_id


async def test_a_member_reads_as_active_since_the_customers_creation(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await enrolled(runtime, tenant)

    response = await client.get(
        f"/api/v1/loyalty/members/{customer_id}", headers=bearer_headers(tenant, "analyst")
    )

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": str(customer_id),
        "member_since": "2026-03-01T09:00:00Z",
        "status": "active",
    }


async def test_a_closed_membership_still_reads_as_closed(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await enrolled(runtime, tenant)
    deletion = CustomerDeleted(customer_id=customer_id, deleted_at=datetime.now(UTC))
    await close_membership(runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant), deletion)

    response = await client.get(
        f"/api/v1/loyalty/members/{customer_id}", headers=bearer_headers(tenant)
    )

    assert response.json()["status"] == "closed"


async def test_an_unknown_or_foreign_member_is_a_404_problem(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await enrolled(runtime, tenant)
    intruder = bearer_headers(unique_tenant("intruder"))

    for url, headers in (
        (f"/api/v1/loyalty/members/{uuid.uuid4()}", bearer_headers(tenant)),
        (f"/api/v1/loyalty/members/{customer_id}", intruder),
    ):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_reading_members_needs_the_loyalty_read_scope(
    client: httpx.AsyncClient, tenant: str
) -> None:
    url = f"/api/v1/loyalty/members/{uuid.uuid4()}"

    anonymous = await client.get(url)
    without_scope = await client.get(url, headers=bearer_headers(tenant, scopes=["customers:read"]))

    assert anonymous.status_code == 401
    assert without_scope.status_code == 403
    assert "loyalty:read" in without_scope.json()["detail"]
