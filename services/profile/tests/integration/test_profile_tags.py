"""Tags on one customer, in bulk (set-based) and counted, on a real database."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/api/v1/customers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def outbox_types(runtime: ServiceRuntime, tenant: str, customer_id: str) -> list[str]:
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.scalars(
            select(outbox.c.message_type)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_key == customer_id)
            .order_by(outbox.c.seq)
        )
        return list(rows)


async def test_tags_are_added_to_and_removed_from_one_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await create(client, admin, email="tagme@example.com", tags=["a"])

    added = await client.post(
        f"/api/v1/customers/{customer_id}/tags", json={"tags": ["B", "a", "c"]}, headers=admin
    )
    removed = await client.delete(f"/api/v1/customers/{customer_id}/tags/B", headers=admin)

    assert added.json()["tags"] == ["a", "b", "c"]
    assert removed.json()["tags"] == ["a", "c"]
    missing = await client.post(
        f"/api/v1/customers/{uuid.uuid4()}/tags", json={"tags": ["x"]}, headers=admin
    )
    assert missing.status_code == 404


async def test_bulk_tagging_changes_only_what_needs_it_and_announces_each_change(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    fresh = await create(client, admin, email="fresh@example.com")
    already = await create(client, admin, email="already@example.com", tags=["promo"])
    ghost = str(uuid.uuid4())

    response = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [fresh, already, ghost, fresh], "tags": ["PROMO", "summer"]},
        headers=admin,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"requested": 3, "changed": 2, "unchanged": 0, "not_found": [ghost]}
    fresh_tags = (await client.get(f"/api/v1/customers/{fresh}", headers=admin)).json()["tags"]
    already_tags = (await client.get(f"/api/v1/customers/{already}", headers=admin)).json()
    assert fresh_tags == ["promo", "summer"]
    assert already_tags["tags"] == ["promo", "summer"]
    assert await outbox_types(runtime, tenant, fresh) == [
        "CustomerCreated",
        "CustomerUpdated",
        "TagsChanged",
    ]

    again = await client.post(
        "/api/v1/customers/bulk/tags/remove",
        json={"customer_ids": [fresh, already], "tags": ["summer", "nothing"]},
        headers=admin,
    )
    assert again.json()["changed"] == 2
    assert (await client.get(f"/api/v1/customers/{fresh}", headers=admin)).json()["tags"] == [
        "promo"
    ]


async def test_bulk_tagging_ten_thousand_customers_is_set_based(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    ids = [await create(client, admin, email=f"bulk{n}@example.com") for n in range(50)]

    response = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": ids + [str(uuid.uuid4()) for _ in range(9_950)], "tags": ["x"]},
        headers=admin,
    )

    assert response.json()["changed"] == 50
    assert len(response.json()["not_found"]) == 9_950
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        announced = await uow.session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == "TagsChanged")
        )
    assert announced == 50
    too_many = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [str(uuid.uuid4()) for _ in range(10_001)], "tags": ["x"]},
        headers=admin,
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "customer_ids"


async def test_tag_counts_list_each_tag_with_its_customers_most_used_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, email="t1@example.com", tags=["vip", "gift"])
    await create(client, admin, email="t2@example.com", tags=["vip"])
    gone = await create(client, admin, email="t3@example.com", tags=["vip", "gift"])
    await client.delete(f"/api/v1/customers/{gone}", headers=admin)

    body = (await client.get("/api/v1/tags", headers=admin)).json()

    assert body["data"] == [{"tag": "vip", "customers": 2}, {"tag": "gift", "customers": 1}]
    assert body["meta"]["total_items"] == 2
