"""Test support for the internal GDPR export endpoint every service serves."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import Table, insert, text

from patron_shared.http import ServiceRuntime
from patron_shared.testing.auth import bearer_headers

EXPORT_PATH = "/internal/v1/customers/{customer_id}/export"


async def insert_row(runtime: ServiceRuntime, tenant: str, table: Table, **values: Any) -> None:
    """One row of `tenant` written as the application role (row-level security applies)."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            text("SELECT set_config('patron.tenant_id', :tenant, true)"), {"tenant": tenant}
        )
        await session.execute(insert(table).values(tenant_id=tenant, **values))


async def export_of(
    client: httpx.AsyncClient,
    tenant: str,
    customer_id: uuid.UUID,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The service's export document of `customer_id`, asked as an admin of `tenant`."""
    response = await client.get(
        EXPORT_PATH.format(customer_id=customer_id), headers=headers or bearer_headers(tenant)
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert document["customer_id"] == str(customer_id)
    assert document["truncated"] == []
    return document


async def assert_export_needs_the_export_scope(client: httpx.AsyncClient, tenant: str) -> None:
    path = EXPORT_PATH.format(customer_id=uuid.uuid4())
    anonymous = await client.get(path)
    assert anonymous.status_code == 401, anonymous.text
    reader = await client.get(path, headers=bearer_headers(tenant, "analyst"))
    assert reader.status_code == 403, reader.text
    assert reader.headers["content-type"].startswith("application/problem+json")
    scoped = await client.get(path, headers=bearer_headers(tenant, scopes=["customers:export"]))
    assert scoped.status_code == 200, scoped.text
