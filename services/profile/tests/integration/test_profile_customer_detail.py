"""The customer detail view with related data, and the purchase history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.orders import record_order_event
from patron_shared.events import OrderItem, OrderPlaced
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration


async def place(
    runtime: ServiceRuntime, tenant: str, customer_id: str, order_id: str, days_ago: int
) -> None:
    order = OrderPlaced(
        order_id=order_id,
        customer_id=uuid.UUID(customer_id),
        currency="USD",
        total=Decimal("30.00"),
        items=[OrderItem(sku="MUG", name="Mug", quantity=2, unit_price=Decimal("15.00"))],
        placed_at=datetime(2026, 11, 20, tzinfo=UTC) - timedelta(days=days_ago),
    )
    uow = runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant)
    uow.causation_id = str(uuid.uuid4())
    await record_order_event(uow, order)


async def test_the_detail_view_includes_addresses_and_recent_orders_on_request(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    created = await client.post(
        "/api/v1/customers",
        json={"email": "detail@example.com", "first_name": "Dina"},
        headers=admin,
    )
    customer_id = created.json()["id"]
    await client.post(
        f"/api/v1/customers/{customer_id}/addresses",
        json={"type": "shipping", "address1": "1 Main St", "city": "Austin", "country": "us"},
        headers=admin,
    )
    await client.put(
        f"/api/v1/customers/{customer_id}/metadata/shoe_size",
        json={"value": 39, "module_source": "storefront"},
        headers=admin,
    )
    await place(runtime, tenant, customer_id, "D-1", days_ago=3)
    await place(runtime, tenant, customer_id, "D-2", days_ago=1)
    url = f"/api/v1/customers/{customer_id}"

    plain = (await client.get(url, headers=admin)).json()
    full = (await client.get(f"{url}?include=addresses,orders,metadata", headers=admin)).json()

    assert plain["addresses"] is None
    assert plain["purchase_history"] is None
    assert plain["metadata"] is None
    assert [(m["key"], m["value"]) for m in full["metadata"]] == [("shoe_size", 39)]
    assert plain["name"] == "Dina"
    assert [a["city"] for a in full["addresses"]] == ["Austin"]
    assert full["addresses"][0]["country"] == "US"
    assert [o["order_id"] for o in full["purchase_history"]] == ["D-2", "D-1"]
    assert full["purchase_history"][0]["items"][0]["sku"] == "MUG"
    assert full["total_orders"] == 2
    assert full["total_spent"] == "60.00"


async def test_the_purchase_history_is_paginated_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    created = await client.post(
        "/api/v1/customers", json={"email": "history@example.com"}, headers=admin
    )
    customer_id = created.json()["id"]
    for n in range(5):
        await place(runtime, tenant, customer_id, f"H-{n}", days_ago=n)

    page = (
        await client.get(f"/api/v1/customers/{customer_id}/orders?per_page=2&page=2", headers=admin)
    ).json()

    assert [o["order_id"] for o in page["data"]] == ["H-2", "H-3"]
    assert page["meta"]["total_items"] == 5
    assert page["data"][0]["net_total"] == "30.00"
    unknown = await client.get(f"/api/v1/customers/{uuid.uuid4()}/orders", headers=admin)
    assert unknown.status_code == 404
    other_tenant = bearer_headers(f"{tenant}-x")
    hidden = await client.get(f"/api/v1/customers/{customer_id}/orders", headers=other_tenant)
    assert hidden.status_code == 404
