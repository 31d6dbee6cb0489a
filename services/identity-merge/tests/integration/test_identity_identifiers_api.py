"""`GET /api/v1/identity/customers/{customer_id}/identifiers` on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.matching import NormalizationRules
from patron_identity.service.customers import delete_customer, record_customer
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerSnapshot
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def recorded(runtime: ServiceRuntime, tenant: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    customer = CustomerSnapshot(
        email="Ann@Example.com",
        phone="+14155550123",
        external_ids={"woocommerce": "77", "shopify": "123"},
        created_at=JOINED,
        updated_at=JOINED,
    )
    event = CustomerCreated(customer_id=customer_id, customer=customer)
    uow = runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant)
    await record_customer(uow, event, rules=NormalizationRules())
    return customer_id


def url(customer_id: uuid.UUID) -> str:
    return f"/api/v1/identity/customers/{customer_id}/identifiers"


async def test_a_customers_identifiers_are_read_through_the_api(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await recorded(runtime, tenant)

    response = await client.get(url(customer_id), headers=bearer_headers(tenant, "support"))

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": str(customer_id),
        "email": "ann@example.com",
        "phone": "+14155550123",
        "external_ids": ["shopify:123", "woocommerce:77"],
    }


async def test_callers_without_the_pii_scope_see_masked_identifiers(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await recorded(runtime, tenant)
    reader = bearer_headers(tenant, scopes=["identity:read"])

    body = (await client.get(url(customer_id), headers=reader)).json()

    assert body["email"] == "a***@example.com"
    assert body["phone"] == "********0123"
    assert body["external_ids"] == ["shopify:123", "woocommerce:77"]


async def test_an_unknown_deleted_or_foreign_customer_is_a_404_problem(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    kept, deleted = await recorded(runtime, tenant), await recorded(runtime, tenant)
    deletion = CustomerDeleted(customer_id=deleted, deleted_at=datetime.now(UTC))
    await delete_customer(runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant), deletion)
    admin, intruder = bearer_headers(tenant), bearer_headers(unique_tenant("intruder"))

    for customer_id, headers in ((uuid.uuid4(), admin), (deleted, admin), (kept, intruder)):
        response = await client.get(url(customer_id), headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_reading_identifiers_needs_the_identity_read_scope(
    client: httpx.AsyncClient, tenant: str
) -> None:
    analyst = bearer_headers(tenant, "analyst")  # customers, segments, analytics, loyalty

    response = await client.get(url(uuid.uuid4()), headers=analyst)

    assert response.status_code == 403
    assert "identity:read" in response.json()["detail"]
