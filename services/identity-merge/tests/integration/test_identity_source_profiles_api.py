"""`POST /api/v1/identity/sources/{source}/profiles` on a real database."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_identity.adapters.tables import messaging
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration

URL = "/api/v1/identity/sources/store-pos/profiles"


def person(**fields: Any) -> dict[str, Any]:
    number = uuid.uuid4().hex[:10]
    return {
        "external_id": f"C-{number}",
        "email": f"mei.{number}@example.com",
        "first_name": "Mei",
        "last_name": "Chen",
    } | fields


async def upserts(runtime: ServiceRuntime, tenant: str) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.payload)
            .where(
                outbox.c.tenant_id == tenant,
                outbox.c.message_type == "UpsertCustomerFromSource",
            )
            .order_by(outbox.c.seq)
        )
        return [row.payload["data"] for row in rows]


async def test_a_batch_resolves_each_profile_and_tells_the_profile_service(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    mei = person(
        phone="+65 6123 4567",
        tags=["walk-in"],
        date_of_birth="1988-07-01",
        address={"address1": "1 Raffles Place", "postcode": "048616", "country": "sg"},
    )
    same_mei_by_email = person(external_id="C-other", email=mei["email"])

    response = await client.post(URL, json={"profiles": [mei, same_mei_by_email]}, headers=admin)

    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert (first["created"], second["created"], second["matched_by"]) == (True, False, "email")
    assert first["customer_id"] == second["customer_id"]
    commands = await upserts(runtime, tenant)
    assert [c["external_id"] for c in commands] == [mei["external_id"], "C-other"]
    assert commands[0] | {"customer_id": None} == {
        "customer_id": None,
        "source": "store-pos",
        "external_id": mei["external_id"],
        "email": mei["email"],
        "phone": "+6561234567",
        "first_name": "Mei",
        "last_name": "Chen",
        "accepts_marketing": None,
        "tags": ["walk-in"],
        "date_of_birth": "1988-07-01",
        "address": {
            "address1": "1 Raffles Place",
            "address2": None,
            "city": None,
            "state": None,
            "pincode": "048616",
            "country": "SG",
        },
    }


async def test_a_retry_with_the_same_idempotency_key_changes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    body = {"profiles": [person()]}
    keyed = admin | {"Idempotency-Key": f"batch-{uuid.uuid4()}"}

    first = await client.post(URL, json=body, headers=keyed)
    retry = await client.post(URL, json=body, headers=keyed)
    other_body = await client.post(URL, json={"profiles": [person()]}, headers=keyed)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json() | {"status": "replayed"}
    assert retry.headers["idempotency-replayed"] == "true"
    assert other_body.status_code == 409
    assert len(await upserts(runtime, tenant)) == 1


async def test_a_delete_releases_the_sources_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    mei = person()
    created = (await client.post(URL, json={"profiles": [mei]}, headers=admin)).json()

    deleted = await client.post(
        URL,
        json={"profiles": [{"external_id": mei["external_id"], "event": "delete"}]},
        headers=admin,
    )
    again = await client.post(
        URL, json={"profiles": [{"external_id": mei["external_id"]}]}, headers=admin
    )

    customer_id = created["results"][0]["customer_id"]
    assert deleted.json()["results"][0]["customer_id"] == customer_id
    # Known by nothing else, the id now makes a new customer.
    assert again.json()["results"][0]["created"] is True
    assert again.json()["results"][0]["customer_id"] != customer_id


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/identity/sources/shopify/profiles", {"profiles": [person()]}, "source"),
        ("/api/v1/identity/sources/Store/profiles", {"profiles": [person()]}, "source"),
        (URL, {"profiles": []}, "profiles"),
        (URL, {"profiles": [person(external_id=" ")]}, "profiles.0.external_id"),
        (URL, {"profiles": [person(), person(phone="call me")]}, "profiles.1.phone"),
        (URL, {"profiles": [person(source="store-pos")]}, "profiles.0.source"),
    ],
)
async def test_a_bad_batch_is_a_problem_naming_the_field_and_stores_nothing(
    *,
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    admin: dict[str, str],
    url: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(url, json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await upserts(runtime, tenant) == []


async def test_an_unusable_phone_is_refused_naming_its_profile(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    response = await client.post(
        URL, json={"profiles": [person(), person(phone="555-0100")]}, headers=admin
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "profiles.1.phone"
    assert await upserts(runtime, tenant) == []


async def test_pushing_profiles_needs_identity_write(
    client: httpx.AsyncClient, tenant: str
) -> None:
    body = {"profiles": [person()]}

    anonymous = await client.post(URL, json=body)
    analyst = await client.post(URL, json=body, headers=bearer_headers(tenant, "analyst"))
    service = await client.post(URL, json=body, headers=bearer_headers(tenant, "service"))

    assert (anonymous.status_code, analyst.status_code, service.status_code) == (401, 403, 200)
