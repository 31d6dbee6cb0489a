"""`/api/v1/notifications/contacts` on a real database: paging, masking, tenancy, scopes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.contacts import delete_contact, record_contact
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerSnapshot
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def recorded(runtime: ServiceRuntime, tenant: str, email: str = "maria@example.com") -> str:
    customer_id = uuid.uuid4()
    customer = CustomerSnapshot(
        email=email,
        phone="+14155550123",
        first_name="Maria",
        locale="es-ES",
        created_at=JOINED,
        updated_at=JOINED,
    )
    event = CustomerCreated(customer_id=customer_id, customer=customer)
    await record_contact(runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), event)
    return str(customer_id)


async def test_a_contact_is_read_in_full_by_a_caller_with_the_pii_scope(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await recorded(runtime, tenant)

    response = await client.get(
        f"/api/v1/notifications/contacts/{customer_id}", headers=bearer_headers(tenant, "support")
    )

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": customer_id,
        "email": "maria@example.com",
        "phone": "+14155550123",
        "first_name": "Maria",
        "locale": "es-ES",
        "accepts_marketing": False,
    }


async def test_callers_without_the_pii_scope_see_masked_contacts(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await recorded(runtime, tenant)
    marketing = bearer_headers(tenant, "marketing")

    one = await client.get(f"/api/v1/notifications/contacts/{customer_id}", headers=marketing)
    listed = (await client.get("/api/v1/notifications/contacts", headers=marketing)).json()

    for seen in (one.json(), listed["data"][0]):
        assert (seen["email"], seen["phone"], seen["first_name"]) == (
            "m***@example.com",
            "********0123",
            "M***",
        )


async def test_the_list_is_paginated_newest_first_and_leaves_deleted_contacts_out(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    ids = [await recorded(runtime, tenant, f"c{n}@example.com") for n in range(4)]
    deletion = CustomerDeleted(customer_id=uuid.UUID(ids[0]), deleted_at=datetime.now(UTC))
    await delete_contact(runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), deletion)
    admin = bearer_headers(tenant)

    first = (await client.get("/api/v1/notifications/contacts?per_page=2", headers=admin)).json()
    last = await client.get("/api/v1/notifications/contacts?per_page=2&page=2", headers=admin)

    assert first["meta"] == {
        "current_page": 1,
        "per_page": 2,
        "total_pages": 2,
        "total_items": 3,
        "total_is_exact": True,
    }
    listed = [c["customer_id"] for c in first["data"] + last.json()["data"]]
    assert listed == [ids[3], ids[2], ids[1]]
    too_many = await client.get("/api/v1/notifications/contacts?per_page=1000", headers=admin)
    assert too_many.status_code == 422


async def test_an_unknown_or_foreign_contact_is_a_404_problem(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await recorded(runtime, tenant)
    intruder = bearer_headers(unique_tenant("intruder"))

    for url, headers in (
        (f"/api/v1/notifications/contacts/{uuid.uuid4()}", bearer_headers(tenant)),
        (f"/api/v1/notifications/contacts/{customer_id}", intruder),
    ):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    foreign_list = await client.get("/api/v1/notifications/contacts", headers=intruder)
    assert foreign_list.json()["meta"]["total_items"] == 0


async def test_reading_contacts_needs_the_notifications_read_scope(
    client: httpx.AsyncClient, tenant: str
) -> None:
    analyst = bearer_headers(tenant, "analyst")  # customers, segments, analytics, loyalty

    response = await client.get("/api/v1/notifications/contacts", headers=analyst)

    assert response.status_code == 403
    assert "notifications:read" in response.json()["detail"]
