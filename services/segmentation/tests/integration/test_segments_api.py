"""`/api/v1/segments` on a real database: preview, save, change, list, members, CSV."""

from __future__ import annotations

import csv
import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerSnapshot,
    OrderItem,
    OrderPlaced,
    build_envelope,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, deliver_record

pytestmark = pytest.mark.integration
URL = "/api/v1/segments"


async def deliver(runtime: ServiceRuntime, tenant: str, event: Contract) -> None:
    assert await deliver_record(runtime, build_envelope(event, tenant_id=tenant, source="t")) == (
        "processed"
    )


async def customer(
    runtime: ServiceRuntime,
    tenant: str,
    *,
    tags: list[str],
    spent: list[str],
    days_ago: int = 10,
    born: date | None = None,
    gender: str | None = None,
    source: str | None = None,
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    now = utcnow()
    snapshot = CustomerSnapshot(
        email=f"{customer_id.hex[:8]}@example.com",
        tags=tags,
        date_of_birth=born,
        gender=gender,
        source=source,
        created_at=now - timedelta(days=400),
        updated_at=now - timedelta(days=400),
    )
    await deliver(runtime, tenant, CustomerCreated(customer_id=customer_id, customer=snapshot))
    for n, total in enumerate(spent):
        await deliver(
            runtime,
            tenant,
            OrderPlaced(
                order_id=f"{customer_id.hex[:8]}-{n}",
                customer_id=customer_id,
                currency="USD",
                total=Decimal(total),
                placed_at=now - timedelta(days=days_ago + n),
                items=[
                    OrderItem(
                        sku="s", name="n", category="Gifts", quantity=1, unit_price=Decimal(total)
                    )
                ],
            ),
        )
    return customer_id


@pytest.fixture
def marketing(tenant: str) -> dict[str, str]:
    return bearer_headers(tenant, "marketing")


async def test_a_rule_previews_saves_and_lists_its_members_in_pages_and_as_csv(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, marketing: dict[str, str]
) -> None:
    big_gifter = await customer(runtime, tenant, tags=["gift"], spent=["900", "300"], days_ago=100)
    other_big = await customer(runtime, tenant, tags=["gift", "vip"], spent=["1500"], days_ago=95)
    await customer(runtime, tenant, tags=["gift"], spent=["1500"], days_ago=5)  # too recent
    await customer(runtime, tenant, tags=[], spent=["5000"], days_ago=200)  # no gift tag
    rule = 'total_spent > 1000 AND last_order_at < -90d AND tags CONTAINS "gift"'

    preview = await client.post(f"{URL}/preview", json={"rule": rule}, headers=marketing)
    as_json = await client.post(
        f"{URL}/preview", json={"rule": preview.json()["rule_json"]}, headers=marketing
    )
    created = await client.post(
        URL, json={"name": " Lapsed  gifters ", "rule": rule}, headers=marketing
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 2
    assert preview.json()["rule"] == rule
    assert as_json.json()["count"] == 2
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["name"] == "Lapsed gifters"
    assert created.headers["location"] == f"{URL}/{segment['id']}"
    first = await client.get(f"{URL}/{segment['id']}/members?per_page=1", headers=marketing)
    cursor = first.json()["meta"]["next_cursor"]
    second = await client.get(
        f"{URL}/{segment['id']}/members",
        params={"per_page": 1, "cursor": cursor},
        headers=marketing,
    )
    assert second.json()["meta"]["next_cursor"] is None
    ids = [m["customer_id"] for m in (*first.json()["data"], *second.json()["data"])]
    assert ids == sorted(str(i) for i in (big_gifter, other_big))
    by_id = {m["customer_id"]: m for m in (*first.json()["data"], *second.json()["data"])}
    assert by_id[str(big_gifter)]["total_spent"] == "1200.00"
    exported = await client.get(
        f"{URL}/{segment['id']}/members", headers=marketing | {"Accept": "text/csv"}
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(exported.text.splitlines()))
    assert [r["customer_id"] for r in rows] == ids
    assert rows[1]["tags"] in ("gift;vip", "gift")


async def test_a_segment_changes_lists_and_goes_and_names_are_unique_per_tenant(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, marketing: dict[str, str]
) -> None:
    born = date.today().replace(year=date.today().year - 30) - timedelta(days=1)
    thirty = await customer(runtime, tenant, tags=[], spent=["10"], born=born)
    first = (
        await client.post(
            URL, json={"name": "Thirties", "rule": "age >= 30 AND age < 40"}, headers=marketing
        )
    ).json()
    second = (
        await client.post(
            URL, json={"name": "Everyone", "rule": "order_count >= 0"}, headers=marketing
        )
    ).json()

    taken = await client.post(URL, json={"name": "thirties", "rule": "age > 1"}, headers=marketing)
    changed = await client.put(
        f"{URL}/{second['id']}",
        json={"name": "Buyers", "rule": {"field": "order_count", "op": ">", "value": "0"}},
        headers=marketing,
    )
    page = await client.get(f"{URL}?per_page=1", headers=marketing)
    rest = await client.get(
        URL, params={"per_page": 1, "cursor": page.json()["meta"]["next_cursor"]}, headers=marketing
    )
    members = await client.get(f"{URL}/{first['id']}/members", headers=marketing)
    deleted = await client.delete(f"{URL}/{first['id']}", headers=marketing)
    gone = await client.get(f"{URL}/{first['id']}", headers=marketing)

    assert taken.status_code == 409
    assert taken.headers["content-type"].startswith("application/problem+json")
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["rule"]) == ("Buyers", "order_count > 0")
    assert [s["id"] for s in (*page.json()["data"], *rest.json()["data"])] == [
        first["id"],
        second["id"],
    ]
    assert [m["customer_id"] for m in members.json()["data"]] == [str(thirty)]
    assert deleted.status_code == 204
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("rule", "extension", "value"),
    [
        ("total_spent > ", "position", 14),
        ("total_spent >> 5", "position", 13),
        ({"and": [{"field": "age", "op": "~", "value": 3}]}, "path", "rule.and[0].op"),
    ],
)
async def test_a_bad_rule_is_a_422_problem_pointing_at_the_problem(
    client: httpx.AsyncClient,
    marketing: dict[str, str],
    rule: object,
    extension: str,
    value: object,
) -> None:
    response = await client.post(f"{URL}/preview", json={"rule": rule}, headers=marketing)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem[extension] == value
    assert "rule" in problem["detail"]


async def test_rules_select_by_the_gender_and_source_the_profile_gave(
    runtime: ServiceRuntime, client: httpx.AsyncClient, tenant: str, marketing: dict[str, str]
) -> None:
    await customer(runtime, tenant, tags=[], spent=["10"], gender="female", source="shopify")
    await customer(runtime, tenant, tags=[], spent=["10"], gender="female", source="whatsapp")
    await customer(runtime, tenant, tags=[], spent=["10"], gender="male", source="shopify")
    await customer(runtime, tenant, tags=[], spent=["10"])

    async def count(rule: str) -> int:
        response = await client.post(f"{URL}/preview", json={"rule": rule}, headers=marketing)
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    assert await count("gender = 'female'") == 2
    assert await count("gender = 'female' AND source = 'shopify'") == 1
    assert await count("source IN ('shopify', 'whatsapp')") == 3
    assert await count("gender IS NULL") == 1


async def test_reading_needs_segments_read_and_saving_segments_write(
    client: httpx.AsyncClient, tenant: str
) -> None:
    nobody = bearer_headers(tenant, scopes=["customers:read"])
    analyst = bearer_headers(tenant, "analyst")

    assert (
        await client.post(f"{URL}/preview", json={"rule": "age > 3"}, headers=nobody)
    ).status_code == 403
    assert (
        await client.post(URL, json={"name": "x", "rule": "age > 3"}, headers=analyst)
    ).status_code == 403
    assert (
        await client.post(f"{URL}/preview", json={"rule": "age > 3"}, headers=analyst)
    ).status_code == 200
