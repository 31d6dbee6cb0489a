"""`/api/v1/campaigns` on a real database: what a campaign must say (422 problems naming
the field), creation, idempotent retries, paging, previews, scopes and tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork
from patron_notifications.adapters.tables import contacts
from patron_notifications.domain.campaign import SegmentChange
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration
SALE = {
    "name": "Winter Sale",
    "discount": "30%",
    "code": "WINTER30",
    "ends_at": "2026-12-31T23:59:00Z",
    "url": "https://shop.example.com/sale",
}


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Winter sale",
        "template": "flash_sale",
        "channel": "email",
        "segment_id": "vip",
        "scheduled_at": later(hours=2),
        "variables": {"sale": SALE},
    }
    return {name: value for name, value in (base | fields).items() if value is not None}


async def create(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> Any:
    response = await client.post("/api/v1/campaigns", json=body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def problem_field(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    response = await client.post("/api/v1/campaigns", json=body(**fields), headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert len(errors) >= 1
    field: str = errors[0]["field"]
    return field


async def seed(
    runtime: ServiceRuntime, tenant: str, *, consent: bool, segment: str | None = None
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    async with runtime.unit_of_work(CampaignsUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            insert(contacts).values(
                tenant_id=tenant,
                customer_id=customer_id,
                email=f"ann-{customer_id.hex[:8]}@patron-tests.example",
                first_name="Ann",
                accepts_marketing=consent,
                source_updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        if segment is not None:
            change = SegmentChange(segment, customer_id, True, datetime(2026, 11, 1, tzinfo=UTC))
            await uow.campaigns.record_changes([change])
        await uow.commit()
    return customer_id


async def test_a_new_campaign_is_scheduled_with_its_audience_counted(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    for _ in range(3):
        await seed(runtime, tenant, consent=True, segment="vip")
    at = later(days=1)

    created = await create(client, admin, scheduled_at=at, throttle_per_second=50)

    assert created["status"] == "scheduled"
    assert created["template"] == "flash_sale"
    assert created["category"] == "marketing"
    assert created["segment_id"] == "vip"
    assert created["throttle_per_second"] == 50
    assert created["variables"] == {"sale": SALE}
    assert created["created_by"] == "dev-user"
    assert datetime.fromisoformat(created["scheduled_at"]) == datetime.fromisoformat(at)
    assert created["counts"] == {
        "audience": 3,
        "targeted": 0,
        "waiting": 0,
        "queued": 0,
        "sending": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "skipped": 0,
        "skipped_by_reason": {},
    }
    fetched = await client.get(f"/api/v1/campaigns/{created['id']}", headers=admin)
    assert fetched.json() == created


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"segment_id": None}, "segment_id"),
        ({"customer_ids": [str(uuid.uuid4())]}, "segment_id"),
        ({"scheduled_at": None}, "send_now"),
        ({"scheduled_at": None, "send_now": False}, "send_now"),
        ({"send_now": True}, "scheduled_at"),
        ({"scheduled_at": "2020-01-01T00:00:00Z"}, "scheduled_at"),
        ({"scheduled_at": "2099-01-01T00:00:00"}, "scheduled_at"),
        ({"template": "no_such_template"}, "template"),
        ({"template": "Bad Key"}, "template"),
        ({"channel": "sms", "template": "welcome"}, "template"),
        ({"channel": "fax"}, "channel"),
        ({"variables": {"sale": {"nmae": "x"}}}, "variables.sale.nmae"),
        ({"variables": {"customer": {"name": "x"}}}, "variables.customer"),
        ({"variables": {}}, "variables"),
        ({"throttle_per_second": 0}, "throttle_per_second"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"segment_id": "not a segment!"}, "segment_id"),
        ({"customer_ids": [], "segment_id": None}, "customer_ids"),
        ({"customer_ids": ["nope"], "segment_id": None}, "customer_ids.0"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_an_invalid_campaign_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    assert await problem_field(client, admin, **fields) == field


async def test_more_than_ten_thousand_distinct_customers_is_a_422_but_repeats_count_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    too_many = await problem_field(
        client, admin, segment_id=None, customer_ids=[*ids, str(uuid.uuid4())]
    )
    fine = await create(client, admin, segment_id=None, customer_ids=[*ids, *ids[:500]])

    assert too_many == "customer_ids"
    assert fine["counts"]["audience"] == 10_000
    assert fine["segment_id"] is None


async def test_the_same_idempotency_key_returns_the_same_campaign_and_a_different_body_conflicts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = admin | {"Idempotency-Key": f"launch-{uuid.uuid4()}"}
    payload = body(scheduled_at=later(days=2))

    first = await client.post("/api/v1/campaigns", json=payload, headers=headers)
    again = await client.post("/api/v1/campaigns", json=payload, headers=headers)
    other = await client.post(
        "/api/v1/campaigns", json=payload | {"name": "Another"}, headers=headers
    )

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"]
    assert other.headers["content-type"] == "application/problem+json"
    listed = (await client.get("/api/v1/campaigns", headers=admin)).json()["data"]
    assert [c["id"] for c in listed] == [first.json()["id"]]


async def test_campaigns_are_listed_newest_first_a_page_at_a_time(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = [(await create(client, admin, name=f"Campaign {n}"))["id"] for n in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"per_page": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/campaigns", params=params, headers=admin)).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(made))
    bad = await client.get("/api/v1/campaigns", params={"cursor": "x"}, headers=admin)
    assert bad.status_code == 422
    unknown = await client.get("/api/v1/campaigns", params={"status": "sent"}, headers=admin)
    assert unknown.status_code == 422


async def test_a_preview_renders_for_a_customer_of_the_audience_and_says_if_they_would_be_skipped(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    willing = await seed(runtime, tenant, consent=True, segment="vip")
    unwilling = await seed(runtime, tenant, consent=False, segment="vip")
    outsider = await seed(runtime, tenant, consent=True)
    campaign = await create(client, admin)
    url = f"/api/v1/campaigns/{campaign['id']}/preview"

    mine = (await client.get(url, params={"customer_id": str(willing)}, headers=admin)).json()
    theirs = (await client.get(url, params={"customer_id": str(unwilling)}, headers=admin)).json()
    sample = (await client.get(url, params={"sample": "true"}, headers=admin)).json()
    outside = await client.get(url, params={"customer_id": str(outsider)}, headers=admin)
    masked = await client.get(
        url,
        params={"customer_id": str(willing)},
        headers=bearer_headers(tenant, scopes=["notifications:read"]),
    )

    assert mine["customer_id"] == str(willing)
    assert mine["skipped_reason"] is None
    assert mine["subject"] == "Winter Sale: 30% off, today only"
    assert "Hi Ann," in mine["text"]
    assert "WINTER30" in mine["text"]
    assert "/api/v1/unsubscribe" in mine["text"]
    assert mine["recipient"] == f"ann-{willing.hex[:8]}@patron-tests.example"
    assert theirs["skipped_reason"] == "no_marketing_consent"
    assert sample["customer_id"] is None
    assert "Hi Maria," in sample["text"]
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "customer_id"
    assert masked.status_code == 200
    assert masked.json()["recipient"] != mine["recipient"]
    # nothing was queued by looking
    counts = (await client.get(f"/api/v1/campaigns/{campaign['id']}", headers=admin)).json()
    assert counts["counts"]["queued"] == counts["counts"]["skipped"] == 0


async def test_scopes_and_tenants_keep_campaigns_apart(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    campaign = await create(client, admin)
    reader = bearer_headers(tenant, scopes=["notifications:read"])
    stranger = bearer_headers(f"{tenant}-other", "admin")
    url = f"/api/v1/campaigns/{campaign['id']}"

    assert (await client.post("/api/v1/campaigns", json=body(), headers=reader)).status_code == 403
    assert (await client.post(f"{url}/cancel", headers=reader)).status_code == 403
    assert (await client.get(url, headers=reader)).status_code == 200
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.post(f"{url}/cancel", headers=stranger)).status_code == 404
    assert (await client.get("/api/v1/campaigns", headers=stranger)).json()["data"] == []
    assert (await client.get("/api/v1/campaigns")).status_code == 401
    missing = await client.get(f"/api/v1/campaigns/{uuid.uuid4()}", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_a_scheduled_campaign_can_be_cancelled_before_it_starts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    campaign = await create(client, admin)

    response = await client.post(f"/api/v1/campaigns/{campaign['id']}/cancel", headers=admin)

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
