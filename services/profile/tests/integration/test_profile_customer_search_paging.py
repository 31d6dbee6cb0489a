"""Search and filtered pages give the same rows in the same order whether the matches fit
under the count limit (counted, then sorted) or not (walked in sort order), as the
application role under row-level security."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from patron_profile.adapters.tables import customers
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.customer_query import CustomerFilters, CustomerSort
from patron_shared.http import Page, PageParams, ServiceRuntime
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration

BASE = datetime(2026, 1, 1, tzinfo=UTC)
# Seven live customers match "smith" (one through the email only, one disabled), one
# deleted Smith does not, nor does Jones; `created_at` a day apart, the spend falling as
# they get newer.
PEOPLE = [
    ("Ann", "Smith", "ann.smith@example.com", "active"),
    ("Bob", "Smith", "bob.smith@example.com", "active"),
    ("Cyd", "Jones", "cyd.jones@example.com", "active"),
    ("Dee", "Smith", "dee.smith@example.com", "disabled"),
    ("Eve", "Smithers", "eve@example.com", "active"),
    ("Fay", "Ng", "fay.smith@example.com", "active"),
    ("Gus", "Smith", "gus.smith@example.com", "active"),
    ("Hal", "Smith", "hal.smith@example.com", "active"),
    ("Ivy", "Smith", "ivy.smith@example.com", "active"),
]
DELETED = "hal.smith@example.com"


async def seed(client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str) -> None:
    headers = bearer_headers(tenant, "admin")
    for n, (first, last, email, status) in enumerate(PEOPLE):
        body = {"first_name": first, "last_name": last, "email": email, "status": status}
        response = await client.post("/api/v1/customers", json=body, headers=headers)
        assert response.status_code == 201, response.text
        values: dict[str, Any] = {
            "created_at": BASE + timedelta(days=n),
            "total_spent": 1000 - 100 * n,
        }
        if email == DELETED:
            values["deleted_at"] = BASE + timedelta(days=30)
        customer_id = uuid.UUID(response.json()["id"])
        async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
            await uow.session.execute(
                update(customers).where(customers.c.id == customer_id).values(**values)
            )
            await uow.commit()


@pytest.fixture
async def two_shops(client: httpx.AsyncClient, runtime: ServiceRuntime) -> tuple[str, str]:
    """The same people in two tenants."""
    shops = unique_tenant("shop-a"), unique_tenant("shop-b")
    for shop in shops:
        await seed(client, runtime, shop)
    return shops


async def page(
    runtime: ServiceRuntime,
    tenant: str,
    filters: CustomerFilters,
    sort: str = "-created_at",
    *,
    offset: int = 0,
    limit: int = 3,
    count_limit: int,
) -> tuple[list[str], int]:
    uow = runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant)
    found, total = await uow.lookup.list_page(
        filters,
        CustomerSort.parse(sort),
        offset=offset,
        limit=limit,
        count_limit=count_limit,
    )
    assert all(c.tenant_id == tenant for c in found)
    return [c.email or "" for c in found], total


def emails(*names: str) -> list[str]:
    by_name = {first.lower(): email for first, _, email, _ in PEOPLE}
    return [by_name[name] for name in names]


@pytest.mark.parametrize("count_limit", [2, 100])
@pytest.mark.parametrize(
    ("filters", "sort", "expected"),
    [
        # Newest first: Hal is deleted, Cyd is a Jones; Fay matches by her email.
        (CustomerFilters(search="smith"), "-created_at", ["ivy", "gus", "fay", "eve"]),
        (CustomerFilters(search="SMITH"), "created_at", ["ann", "bob", "dee", "eve"]),
        (
            CustomerFilters(search="smith", status="active"),
            "total_spent",
            ["ivy", "gus", "fay", "eve"],
        ),
        (CustomerFilters(status="active"), "-total_spent", ["ann", "bob", "cyd", "eve"]),
        (CustomerFilters(search="smith"), "name", ["fay", "ann", "bob", "dee"]),
    ],
)
async def test_a_page_is_the_same_below_and_beyond_the_count_limit(
    *,
    runtime: ServiceRuntime,
    two_shops: tuple[str, str],
    filters: CustomerFilters,
    sort: str,
    expected: list[str],
    count_limit: int,
) -> None:
    shop, _ = two_shops

    first, _ = await page(runtime, shop, filters, sort, limit=2, count_limit=count_limit)
    second, _ = await page(runtime, shop, filters, sort, offset=2, limit=2, count_limit=count_limit)

    assert first + second == emails(*expected)


@pytest.mark.parametrize(
    ("count_limit", "total", "exact"),
    [(100, 7, True), (7, 7, True), (6, 7, False), (2, 3, False)],
)
async def test_totals_are_exact_up_to_the_count_limit_and_flagged_beyond(
    runtime: ServiceRuntime, two_shops: tuple[str, str], count_limit: int, total: int, exact: bool
) -> None:
    shop, _ = two_shops

    _, counted = await page(runtime, shop, CustomerFilters(search="smith"), count_limit=count_limit)
    meta = (
        Page[str].build([], PageParams(page=1, per_page=3), counted, count_limit=count_limit).meta
    )

    assert counted == total
    assert meta.total_is_exact is exact
    assert meta.total_items == min(total, count_limit)


@pytest.mark.parametrize("count_limit", [2, 100])
async def test_a_page_past_the_matches_is_empty_and_still_counted(
    runtime: ServiceRuntime, two_shops: tuple[str, str], count_limit: int
) -> None:
    shop, _ = two_shops

    found, total = await page(
        runtime, shop, CustomerFilters(search="smith"), offset=50, count_limit=count_limit
    )

    assert found == []
    assert total == min(7, count_limit + 1)


@pytest.mark.parametrize("count_limit", [2, 100])
async def test_search_finds_nothing_for_an_absent_term_or_a_literal_wildcard(
    runtime: ServiceRuntime, two_shops: tuple[str, str], count_limit: int
) -> None:
    shop, _ = two_shops

    for term in ("zzz", "%", "_mith", "smith\\"):
        found = await page(runtime, shop, CustomerFilters(search=term), count_limit=count_limit)
        assert found == ([], 0), term


@pytest.mark.parametrize("count_limit", [2, 100])
async def test_each_tenant_pages_through_its_own_customers_only(
    runtime: ServiceRuntime, two_shops: tuple[str, str], count_limit: int
) -> None:
    shop_a, shop_b = two_shops
    ids: dict[str, set[str]] = {}

    for shop in (shop_a, shop_b):
        seen: list[str] = []
        lookup = runtime.unit_of_work(ProfileUnitOfWork, tenant_id=shop).lookup
        for offset in range(0, 9, 3):
            found, _ = await lookup.list_page(
                CustomerFilters(search="smith"),
                CustomerSort.parse("-created_at"),
                offset=offset,
                limit=3,
                count_limit=count_limit,
            )
            assert all(c.tenant_id == shop for c in found)
            seen += [str(c.id) for c in found]
        ids[shop] = set(seen)
        assert len(seen) == len(ids[shop]) == 7

    assert not ids[shop_a] & ids[shop_b]
