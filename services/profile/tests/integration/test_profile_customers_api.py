"""The customer API on a real database: tenancy, auth, validation, masking, pagination."""

from __future__ import annotations

import uuid

import httpx
import pytest

from patron_shared.testing import bearer_headers as bearer
from patron_shared.testing import unique_tenant

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:
    response = await client.post("/api/v1/customers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_customer_is_created_read_changed_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await create(
        client,
        admin,
        email="Ann@Example.com",
        first_name="Ann",
        tags=["VIP"],
        external_ids={"shopify": "123"},
    )
    customer_url = f"/api/v1/customers/{created['id']}"
    assert created["email"] == "ann@example.com"
    assert created["tags"] == ["vip"]
    assert created["total_spent"] == "0.00"

    patched = await client.patch(
        customer_url, json={"last_name": "Lee", "phone": "415 555 0199"}, headers=admin
    )
    assert patched.status_code == 200
    assert patched.json()["full_name"] == "Ann Lee"
    assert patched.json()["phone"] == "+14155550199"

    fetched = await client.get(customer_url, headers=admin)
    assert fetched.json()["last_name"] == "Lee"

    assert (await client.delete(customer_url, headers=admin)).status_code == 204
    gone = await client.get(customer_url, headers=admin)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"


async def test_an_email_is_unique_per_tenant_regardless_of_case(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, email="dup@example.com")
    again = await client.post("/api/v1/customers", json={"email": "DUP@example.com"}, headers=admin)
    assert again.status_code == 409
    assert again.json()["field"] == "email"

    other_tenant = bearer(unique_tenant("other"))
    await create(client, other_tenant, email="dup@example.com")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"first_name": "No contact"}, "email"),
        ({"email": "x@example.com", "colour": "red"}, "colour"),
        ({"email": "x@example.com", "accepts_marketing": "maybe"}, "accepts_marketing"),
    ],
)
async def test_bad_input_is_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict, field: str
) -> None:
    response = await client.post("/api/v1/customers", json=body, headers=admin)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_request_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_one_tenant_cannot_read_or_change_another_tenants_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await create(client, admin, email="private@example.com")
    intruder = bearer(unique_tenant("intruder"))

    url = f"/api/v1/customers/{created['id']}"
    assert (await client.get(url, headers=intruder)).status_code == 404
    assert (await client.patch(url, json={"first_name": "X"}, headers=intruder)).status_code == 404
    listing = await client.get("/api/v1/customers", headers=intruder)
    assert listing.json()["meta"]["total_items"] == 0


async def test_callers_without_the_pii_scope_see_masked_contact_details(
    client: httpx.AsyncClient, tenant: str, admin: dict[str, str]
) -> None:
    created = await create(
        client,
        admin,
        email="masked@example.com",
        phone="+14155550123",
        first_name="Maria",
        notes="prefers calls",
    )
    analyst = bearer(tenant, "analyst")

    seen = (await client.get(f"/api/v1/customers/{created['id']}", headers=analyst)).json()

    assert seen["email"] == "m***@example.com"
    assert seen["phone"].endswith("0123")
    assert "415" not in seen["phone"]
    assert seen["first_name"] == "M***"
    assert seen["notes"] is None


async def test_a_role_without_write_scope_cannot_create(
    client: httpx.AsyncClient, tenant: str
) -> None:
    response = await client.post(
        "/api/v1/customers", json={"email": "a@example.com"}, headers=bearer(tenant, "analyst")
    )
    assert response.status_code == 403
    assert "customers:write" in response.json()["detail"]


async def test_the_list_is_paginated_with_meta(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for n in range(5):
        await create(client, admin, email=f"page{n}@example.com")

    first = (await client.get("/api/v1/customers?per_page=2", headers=admin)).json()
    last = (await client.get("/api/v1/customers?per_page=2&page=3", headers=admin)).json()

    assert first["meta"] == {
        "current_page": 1,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
        "total_is_exact": True,
    }
    assert len(first["data"]) == 2
    assert len(last["data"]) == 1
    seen = {c["id"] for c in first["data"]} | {c["id"] for c in last["data"]}
    assert len(seen) == 3
    too_many = await client.get("/api/v1/customers?per_page=1000", headers=admin)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "per_page"


async def test_an_unknown_customer_id_is_404_and_a_malformed_one_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.get(f"/api/v1/customers/{uuid.uuid4()}", headers=admin)).status_code == 404
    malformed = await client.get("/api/v1/customers/not-a-uuid", headers=admin)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "customer_id"
