"""The metadata API on a real database: upserts, module sources, limits, tenancy."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_profile.adapters.notes import customer_metadata
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.metadata import MAX_VALUE_BYTES
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, row_security_of, unique_tenant
from patron_shared.testing import bearer_headers as bearer

pytestmark = pytest.mark.integration


async def a_customer(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/api/v1/customers", json={"email": f"{uuid.uuid4().hex}@example.com"}, headers=headers
    )
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def put(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    customer_id: str,
    key: str,
    value: Any,
    *,
    module_source: str = "admin",
) -> httpx.Response:
    return await client.put(
        f"/api/v1/customers/{customer_id}/metadata/{key}",
        json={"value": value, "module_source": module_source},
        headers=headers,
    )


async def listing(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/customers/{customer_id}/metadata", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


async def stored_rows(runtime: ServiceRuntime, tenant: str, customer_id: str) -> int:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(customer_metadata)
            .where(customer_metadata.c.customer_id == uuid.UUID(customer_id))
        )
    return int(count or 0)


async def test_the_migration_puts_metadata_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, _ = await row_security_of(service_database, ["customer_metadata"])
    assert secured == {"customer_metadata": True}


async def test_an_entry_is_set_by_a_module_listed_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    loyalty = bearer(tenant, "service", subject="loyalty-service")
    value = {"store_id": "SF-01", "visits": [1, 2.5, None, True], "note": "ünïcode"}

    response = await put(
        client, loyalty, customer_id, "loyalty.favourite_store", value, module_source="loyalty"
    )

    assert response.status_code == 200, response.text
    entry = response.json()
    assert set(entry) == {"key", "value", "module_source", "updated_at", "updated_by"}
    assert (entry["key"], entry["value"], entry["module_source"], entry["updated_by"]) == (
        "loyalty.favourite_store",
        value,
        "loyalty",
        "loyalty-service",
    )
    assert await listing(client, admin, customer_id) == [entry]

    url = f"/api/v1/customers/{customer_id}/metadata/loyalty.favourite_store"
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert await listing(client, admin, customer_id) == []
    assert (await client.delete(url, headers=admin)).status_code == 404


async def test_setting_a_key_again_replaces_it_in_the_same_row(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    first = (await put(client, admin, customer_id, "tier", "gold", module_source="loyalty")).json()
    second = await put(
        client,
        bearer(tenant, subject="agent-9"),
        customer_id,
        "tier",
        {"name": "vip"},
        module_source="Admin",
    )

    assert second.status_code == 200
    assert (second.json()["value"], second.json()["module_source"]) == ({"name": "vip"}, "admin")
    assert second.json()["updated_by"] == "agent-9"
    assert second.json()["updated_at"] >= first["updated_at"]
    assert await listing(client, admin, customer_id) == [second.json()]
    assert await stored_rows(runtime, tenant, customer_id) == 1


async def test_concurrent_writes_of_one_key_leave_one_row(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    answers = await asyncio.gather(
        *(put(client, admin, customer_id, "counter", n) for n in range(8))
    )
    assert [a.status_code for a in answers] == [200] * 8
    assert await stored_rows(runtime, tenant, customer_id) == 1
    assert (await listing(client, admin, customer_id))[0]["value"] in range(8)


@pytest.mark.parametrize("value", [None, 0, False, "", [], {}])
async def test_any_json_value_round_trips_including_null(
    client: httpx.AsyncClient, admin: dict[str, str], value: Any
) -> None:
    customer_id = await a_customer(client, admin)
    response = await put(client, admin, customer_id, "k", value)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == value
    assert [e["value"] for e in await listing(client, admin, customer_id)] == [value]


async def test_entries_are_listed_by_key_and_filtered_by_module_source(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    for key, source in (("b", "loyalty"), ("a", "storefront"), ("c", "loyalty")):
        assert (
            await put(client, admin, customer_id, key, 1, module_source=source)
        ).status_code == 200

    assert [e["key"] for e in await listing(client, admin, customer_id)] == ["a", "b", "c"]
    loyalty = await listing(client, admin, customer_id, module_source="loyalty")
    assert [e["key"] for e in loyalty] == ["b", "c"]
    page = await client.get(
        f"/api/v1/customers/{customer_id}/metadata?per_page=1&page=2", headers=admin
    )
    assert [e["key"] for e in page.json()["data"]] == ["b"]
    assert page.json()["meta"]["total_items"] == 3


async def test_a_value_up_to_16_kb_is_kept_and_a_larger_one_is_a_422_naming_value(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    largest = "x" * (MAX_VALUE_BYTES - 2)  # plus its two quotes

    assert (await put(client, admin, customer_id, "big", largest)).status_code == 200
    too_big = await put(client, admin, customer_id, "big", largest + "x")

    assert too_big.status_code == 422
    assert [e["field"] for e in too_big.json()["errors"]] == ["value"]
    assert too_big.json()["limit"] == MAX_VALUE_BYTES
    assert (await listing(client, admin, customer_id))[0]["value"] == largest


@pytest.mark.parametrize(
    ("key", "body", "field"),
    [
        ("Upper", {"value": 1, "module_source": "admin"}, "key"),
        ("x" * 101, {"value": 1, "module_source": "admin"}, "key"),
        ("_x", {"value": 1, "module_source": "admin"}, "key"),
        ("ok", {"module_source": "admin"}, "value"),
        ("ok", {"value": 1}, "module_source"),
        ("ok", {"value": 1, "module_source": "has space"}, "module_source"),
        ("ok", {"value": 1, "module_source": "admin", "extra": 1}, "extra"),
    ],
)
async def test_an_invalid_write_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], key: str, body: dict[str, Any], field: str
) -> None:
    customer_id = await a_customer(client, admin)
    response = await client.put(
        f"/api/v1/customers/{customer_id}/metadata/{key}", json=body, headers=admin
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await listing(client, admin, customer_id) == []


async def test_values_postgresql_cannot_store_are_a_422_naming_value(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    for raw in (
        b'{"value": NaN, "module_source": "admin"}',
        b'{"value": "a\\u0000b", "module_source": "admin"}',
    ):
        response = await client.put(
            f"/api/v1/customers/{customer_id}/metadata/k",
            content=raw,
            headers=admin | {"Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["value"]


async def test_readers_may_list_but_only_writers_may_set_or_delete(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await put(client, admin, customer_id, "k", 1)
    analyst = bearer(tenant, "analyst")

    assert [e["key"] for e in await listing(client, analyst, customer_id)] == ["k"]
    assert (await put(client, analyst, customer_id, "k", 2)).status_code == 403
    url = f"/api/v1/customers/{customer_id}/metadata/k"
    assert (await client.delete(url, headers=analyst)).status_code == 403
    assert [e["value"] for e in await listing(client, admin, customer_id)] == [1]


async def test_an_unknown_or_deleted_customer_has_no_metadata(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    unknown = str(uuid.uuid4())
    assert (
        await client.get(f"/api/v1/customers/{unknown}/metadata", headers=admin)
    ).status_code == 404
    assert (await put(client, admin, unknown, "k", 1)).status_code == 404
    assert (
        await client.delete(f"/api/v1/customers/{unknown}/metadata/k", headers=admin)
    ).status_code == 404

    customer_id = await a_customer(client, admin)
    await put(client, admin, customer_id, "k", 1)
    await client.delete(f"/api/v1/customers/{customer_id}", headers=admin)
    gone = await client.get(f"/api/v1/customers/{customer_id}/metadata", headers=admin)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert (await put(client, admin, customer_id, "k", 2)).status_code == 404


async def test_another_tenant_cannot_read_or_change_a_customers_metadata(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await put(client, admin, customer_id, "k", "mine")
    intruder_tenant = unique_tenant("intruder")
    intruder = bearer(intruder_tenant)

    assert (
        await client.get(f"/api/v1/customers/{customer_id}/metadata", headers=intruder)
    ).status_code == 404
    assert (await put(client, intruder, customer_id, "k", "theirs")).status_code == 404
    assert (
        await client.delete(f"/api/v1/customers/{customer_id}/metadata/k", headers=intruder)
    ).status_code == 404
    assert [e["value"] for e in await listing(client, admin, customer_id)] == ["mine"]
    assert await stored_rows(runtime, intruder_tenant, customer_id) == 0
    assert await stored_rows(runtime, tenant, customer_id) == 1
