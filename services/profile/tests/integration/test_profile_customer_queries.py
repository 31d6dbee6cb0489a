"""Listing, filtering, sorting, scanning and searching customers on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from patron_profile.adapters.tables import customers
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/api/v1/customers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def set_stats(runtime: ServiceRuntime, tenant: str, customer_id: str, **values: Any) -> None:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            update(customers).where(customers.c.id == uuid.UUID(customer_id)).values(**values)
        )
        await uow.commit()


async def emails(client: httpx.AsyncClient, headers: dict[str, str], query: str) -> list[str]:
    response = await client.get(f"/api/v1/customers?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [c["email"] for c in response.json()["data"]]


@pytest.fixture
async def shop(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> dict[str, str]:
    """Four customers with known tags, consent, sources and statistics."""
    ids = {
        "ann": await create(
            client,
            admin,
            email="ann@example.com",
            first_name="Ann",
            last_name="Archer",
            tags=["vip", "gift"],
            accepts_marketing=True,
            source="shopify",
        ),
        "bob": await create(
            client,
            admin,
            email="bob@example.com",
            first_name="Bob",
            last_name="Baker",
            tags=["gift"],
            phone="+14155550111",
        ),
        "cyd": await create(
            client,
            admin,
            email="cyd@example.com",
            first_name="Cyd",
            last_name="Carter",
            tags=["wholesale"],
            source="shopify",
        ),
        "dee": await create(
            client, admin, email="dee@example.com", first_name="Dee", last_name="Dunn"
        ),
    }
    await set_stats(
        runtime,
        tenant,
        ids["ann"],
        total_orders=12,
        total_spent=Decimal("900"),
        last_order_at=datetime(2026, 11, 1, tzinfo=UTC),
        is_vip=True,
        segments=["vip", "loyal"],
    )
    await set_stats(
        runtime,
        tenant,
        ids["bob"],
        total_orders=2,
        total_spent=Decimal("150"),
        last_order_at=datetime(2026, 6, 1, tzinfo=UTC),
        segments=["at_risk"],
    )
    await set_stats(
        runtime,
        tenant,
        ids["cyd"],
        total_orders=5,
        total_spent=Decimal("400"),
        last_order_at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    await client.patch(
        f"/api/v1/customers/{ids['dee']}", json={"status": "disabled"}, headers=admin
    )
    return ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tags=gift", {"ann@example.com", "bob@example.com"}),
        ("tags=gift,vip&tags_match=all", {"ann@example.com"}),
        ("tags=VIP,wholesale", {"ann@example.com", "cyd@example.com"}),
        ("accepts_marketing=true", {"ann@example.com"}),
        ("source=shopify", {"ann@example.com", "cyd@example.com"}),
        ("status=disabled", {"dee@example.com"}),
        ("is_vip=true", {"ann@example.com"}),
        ("segment=at_risk", {"bob@example.com"}),
        ("total_spent_min=150&total_spent_max=400", {"bob@example.com", "cyd@example.com"}),
        ("orders_min=5", {"ann@example.com", "cyd@example.com"}),
        ("last_order_from=2026-08-01T00:00:00Z", {"ann@example.com", "cyd@example.com"}),
        ("last_order_to=2026-08-01T00:00:00Z", {"bob@example.com"}),
        ("search=ARCH", {"ann@example.com"}),
        ("search=bob@ex", {"bob@example.com"}),
        ("search=5550111", {"bob@example.com"}),
        ("tags=gift&source=shopify&orders_min=1", {"ann@example.com"}),
    ],
)
async def test_each_filter_returns_exactly_the_matching_customers(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shop: dict[str, str],
    query: str,
    expected: set[str],
) -> None:
    assert set(await emails(client, admin, query)) == expected


async def test_created_date_filters_bound_the_registration_time(
    client: httpx.AsyncClient, admin: dict[str, str], shop: dict[str, str]
) -> None:
    assert len(await emails(client, admin, "created_from=2000-01-01T00:00:00Z")) == 4
    assert await emails(client, admin, "created_to=2000-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-total_spent", ["ann", "cyd", "bob", "dee"]),
        ("total_orders", ["dee", "bob", "cyd", "ann"]),
        ("last_order_at", ["bob", "cyd", "ann", "dee"]),  # nulls last in both directions
        ("-last_order_at", ["ann", "cyd", "bob", "dee"]),
        ("name", ["ann", "bob", "cyd", "dee"]),
        ("-name", ["dee", "cyd", "bob", "ann"]),
    ],
)
async def test_sorting_orders_customers_with_nulls_last(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shop: dict[str, str],
    sort: str,
    expected: list[str],
) -> None:
    found = await emails(client, admin, f"sort={sort}")
    assert found == [f"{name}@example.com" for name in expected]


async def test_a_cursor_scan_visits_every_customer_once_and_then_stops(
    client: httpx.AsyncClient, admin: dict[str, str], shop: dict[str, str]
) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        response = await client.get(
            "/api/v1/customers", params={"cursor": cursor, "per_page": 3}, headers=admin
        )
        body = response.json()
        assert "total_items" not in body["meta"]
        seen += [c["id"] for c in body["data"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(shop.values())
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("total_spent_min=lots", "total_spent_min"),
        ("orders_min=5&orders_max=2", "orders_min"),
        ("sort=favourite", "sort"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=&sort=-total_spent", "sort"),
        ("last_order_from=2026-01-01T00:00:00", "last_order_from"),
        ("tags_match=some", "tags_match"),
        ("group=not-a-uuid", "group"),
    ],
)
async def test_an_unknown_filter_or_a_bad_value_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, admin: dict[str, str], query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/customers?{query}", headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_search_finds_partial_case_insensitive_matches(
    client: httpx.AsyncClient, admin: dict[str, str], shop: dict[str, str]
) -> None:
    response = await client.get("/api/v1/customers/search?q=aRt", headers=admin)

    assert {c["email"] for c in response.json()["data"]} == {"cyd@example.com"}
    assert response.json()["meta"]["total_items"] == 1
    wildcard = await client.get("/api/v1/customers/search?q=%25", headers=admin)
    assert wildcard.json()["data"] == []  # `%` is matched literally


async def test_put_replaces_every_editable_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await create(
        client,
        admin,
        email="put@example.com",
        first_name="Pat",
        tags=["a"],
        notes="old",
        locale="en-US",
    )

    replaced = await client.put(
        f"/api/v1/customers/{customer_id}",
        json={"email": "put@example.com", "last_name": "Kim"},
        headers=admin,
    )

    body = replaced.json()
    assert replaced.status_code == 200
    assert (body["first_name"], body["last_name"], body["tags"], body["notes"]) == (
        None,
        "Kim",
        [],
        None,
    )
    assert body["locale"] is None


async def test_profile_fields_round_trip_and_birth_dates_are_personal_data(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await create(
        client,
        admin,
        email="dob@example.com",
        date_of_birth="1990-04-01",
        gender="female",
        locale="pt-BR",
        preferences={"newsletter": "weekly"},
    )
    url = f"/api/v1/customers/{customer_id}"

    full = (await client.get(url, headers=admin)).json()
    masked = (await client.get(url, headers=bearer_headers(tenant, "analyst"))).json()

    assert (full["date_of_birth"], full["gender"], full["locale"]) == (
        "1990-04-01",
        "female",
        "pt-BR",
    )
    assert full["preferences"] == {"newsletter": "weekly"}
    assert full["name"] == full["full_name"]
    assert masked["date_of_birth"] is None
    bad = await client.post(
        "/api/v1/customers", json={"email": "g@example.com", "gender": "robot"}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "gender"
    unknown_include = await client.get(f"{url}?include=everything", headers=admin)
    assert unknown_include.status_code == 422
    assert unknown_include.json()["errors"][0]["field"] == "include"


async def test_location_filters_match_customers_with_an_address_there(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    places = {
        "austin@example.com": ("US", "TX", "Austin"),
        "dallas@example.com": ("US", "TX", "Dallas"),
        "pune@example.com": ("IN", "MH", "Pune"),
    }
    for email, (country, state, city) in places.items():
        customer_id = await create(client, admin, email=email)
        added = await client.post(
            f"/api/v1/customers/{customer_id}/addresses",
            json={
                "type": "shipping",
                "address1": "1 Road",
                "city": city,
                "state": state,
                "country": country,
            },
            headers=admin,
        )
        assert added.status_code == 201, added.text
    await create(client, admin, email="nowhere@example.com")

    assert set(await emails(client, admin, "country=us")) == {
        "austin@example.com",
        "dallas@example.com",
    }
    assert await emails(client, admin, "country=US&state=tx&city=AUSTIN") == ["austin@example.com"]
    assert await emails(client, admin, "city=Pune") == ["pune@example.com"]
    bad = await client.get("/api/v1/customers?country=USA", headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "country"
