"""Point reads: one statement per read, scoped to the caller's tenant by row-level security
even when connections are shared between tenants."""

from __future__ import annotations

import uuid

import httpx
import pytest

from patron_profile.adapters.customer_lookup import SqlCustomerLookup
from patron_shared.db.reads import PointReads
from patron_shared.testing import ServiceDatabase, bearer_headers, unique_tenant

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, headers: dict[str, str], email: str) -> uuid.UUID:
    response = await client.post("/api/v1/customers", json={"email": email}, headers=headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


@pytest.fixture
async def one_connection(service_database: ServiceDatabase) -> PointReads:
    reads = PointReads(service_database.app_url, size=1, application_name="test-point-reads")
    await reads.open()
    yield reads  # type: ignore[misc]
    await reads.close()


async def test_tenants_taking_turns_on_one_connection_each_see_only_their_own_customers(
    client: httpx.AsyncClient, one_connection: PointReads
) -> None:
    acme, globex = unique_tenant("acme"), unique_tenant("globex")
    acme_id = await create(client, bearer_headers(acme, "admin"), "a@acme.example")
    globex_id = await create(client, bearer_headers(globex, "admin"), "g@globex.example")
    acme_lookup = SqlCustomerLookup(one_connection.for_tenant(acme))
    globex_lookup = SqlCustomerLookup(one_connection.for_tenant(globex))

    for _ in range(3):  # the tenant switches on every read, and back
        mine = await acme_lookup.customer(acme_id)
        theirs = await acme_lookup.customer(globex_id)
        assert mine is not None
        assert mine.email == "a@acme.example"
        assert theirs is None
        mine = await globex_lookup.customer(globex_id)
        assert mine is not None
        assert mine.email == "g@globex.example"
        assert await globex_lookup.customer(acme_id) is None


async def test_row_security_alone_hides_another_tenants_rows_from_a_point_read(
    client: httpx.AsyncClient, one_connection: PointReads
) -> None:
    acme, globex = unique_tenant("acme"), unique_tenant("globex")
    acme_id = await create(client, bearer_headers(acme, "admin"), "rls@acme.example")

    # No tenant predicate in the statement: only the session's tenant filters.
    async with one_connection.connection(globex) as connection:
        seen_by_globex = await connection.fetchval(
            "SELECT count(*) FROM customers WHERE id = $1", acme_id
        )
    async with one_connection.connection(acme) as connection:
        seen_by_acme = await connection.fetchval(
            "SELECT count(*) FROM customers WHERE id = $1", acme_id
        )

    assert (seen_by_globex, seen_by_acme) == (0, 1)


async def test_a_transaction_left_open_is_rolled_back_and_the_tenant_kept(
    one_connection: PointReads,
) -> None:
    acme, globex = unique_tenant("acme"), unique_tenant("globex")
    async with one_connection.connection(acme) as connection:
        await connection.execute("BEGIN")
        await connection.execute(f"SELECT set_config('patron.tenant_id', '{globex}', false)")

    async with one_connection.connection(acme) as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT current_setting('patron.tenant_id')") == acme


async def test_json_columns_come_back_as_values_not_text(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, one_connection: PointReads
) -> None:
    response = await client.post(
        "/api/v1/customers",
        json={
            "email": "json@example.com",
            "external_ids": {"shopify": "123"},
            "preferences": {"newsletter": {"weekly": True}},
        },
        headers=admin,
    )
    customer_id = uuid.UUID(response.json()["id"])

    found = await SqlCustomerLookup(one_connection.for_tenant(tenant)).customer(customer_id)

    assert found is not None
    assert found.external_ids == {"shopify": "123"}
    assert found.preferences == {"newsletter": {"weekly": True}}


async def test_a_deleted_customer_is_not_found_by_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await create(client, admin, "gone@example.com")
    deleted = await client.delete(f"/api/v1/customers/{customer_id}", headers=admin)
    assert deleted.status_code == 204

    response = await client.get(f"/api/v1/customers/{customer_id}", headers=admin)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
