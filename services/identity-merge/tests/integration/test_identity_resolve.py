"""`POST /api/v1/identity/resolve` on a real database: exact identifiers, races, the command."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_identity.adapters.tables import messaging
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration

URL = "/api/v1/identity/resolve"


async def resolve(
    client: httpx.AsyncClient, tenant: str, **body: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post(URL, json=body, headers=bearer_headers(tenant, "admin"))
    return response.status_code, response.json()


async def upserts(runtime: ServiceRuntime, tenant: str) -> list[dict[str, Any]]:
    """The UpsertCustomerFromSource commands in the outbox for `tenant`, oldest first."""
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


async def test_an_unknown_person_gets_a_new_id_and_the_profile_is_told_to_create_it(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    status, body = await resolve(
        client,
        tenant,
        source="shopify",
        external_id="cust_456",
        email="Jane.Doe@Example.com",
        phone="(415) 555-0111",
        first_name="Jane",
    )

    assert status == 201
    assert body["created"] is True
    assert body["matched_by"] is None
    [command] = await upserts(runtime, tenant)
    assert command["customer_id"] == body["customer_id"]
    assert (command["source"], command["external_id"], command["first_name"]) == (
        "shopify",
        "cust_456",
        "Jane",
    )


@pytest.mark.parametrize(
    ("again", "matched_by"),
    [
        ({"source": "shopify", "external_id": "cust_456"}, "external_id"),
        ({"email": "  JANE.DOE@example.COM "}, "email"),
        ({"phone": "+1 415-555-0111"}, "phone"),
        # The external id wins over an email that belongs to nobody yet.
        (
            {"source": "shopify", "external_id": "cust_456", "email": "new@example.com"},
            "external_id",
        ),
    ],
)
async def test_any_known_identifier_finds_the_same_customer(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    again: dict[str, str],
    matched_by: str,
) -> None:
    _, first = await resolve(
        client,
        tenant,
        source="shopify",
        external_id="cust_456",
        email="jane.doe@example.com",
        phone="+14155550111",
    )

    status, body = await resolve(client, tenant, **again)

    assert status == 200
    assert body == {
        "customer_id": first["customer_id"],
        "matched_by": matched_by,
        "created": False,
        "score": None,
    }
    assert len(await upserts(runtime, tenant)) == 1


async def test_a_new_identifier_given_with_a_known_one_joins_that_customer(
    client: httpx.AsyncClient, tenant: str
) -> None:
    _, first = await resolve(client, tenant, email="ann@example.com")
    await resolve(client, tenant, email="ann@example.com", phone="+442071838750")

    status, body = await resolve(client, tenant, phone="020 7183 8750 ")

    assert status == 422  # a UK number without +44 is not a US number
    status, body = await resolve(client, tenant, phone="+44 20 7183 8750")
    assert (status, body["customer_id"], body["matched_by"]) == (
        200,
        first["customer_id"],
        "phone",
    )


async def test_gmail_dots_and_plus_tags_are_one_address(
    client: httpx.AsyncClient, tenant: str
) -> None:
    _, first = await resolve(client, tenant, email="jane.doe@gmail.com")

    _, body = await resolve(client, tenant, email="JaneDoe+shop@googlemail.com")

    assert body["customer_id"] == first["customer_id"]


async def test_concurrent_resolves_of_one_new_identifier_agree_on_one_customer(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"

    results = await asyncio.gather(*(resolve(client, tenant, email=email) for _ in range(8)))

    ids = {body["customer_id"] for _, body in results}
    assert len(ids) == 1
    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert [c["customer_id"] for c in await upserts(runtime, tenant)] == list(ids)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"first_name": "Jane"}, "body"),
        ({"email": "not an email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"email": "a@example.com", "colour": "red"}, "colour"),
        ({"source": "Not A Source!", "external_id": "1"}, "source"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_allocates_nothing(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    body: dict[str, Any],
    field: str,
) -> None:
    status, problem = await resolve(client, tenant, **body)

    assert status == 422
    assert field in {error["field"] for error in problem["errors"]}
    assert await upserts(runtime, tenant) == []


async def test_resolving_needs_the_identity_write_scope(
    client: httpx.AsyncClient, tenant: str
) -> None:
    response = await client.post(
        URL,
        json={"email": "a@example.com"},
        headers=bearer_headers(tenant, scopes=["identity:read"]),
    )

    assert response.status_code == 403
