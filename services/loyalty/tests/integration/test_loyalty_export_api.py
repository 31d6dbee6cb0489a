"""The loyalty part of a GDPR export: account, ledger, lots and credit, per tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_loyalty.adapters.credit_tables import credit_accounts
from patron_loyalty.adapters.tables import points_accounts, points_entries, points_lots
from patron_shared.http import ServiceRuntime
from patron_shared.testing import unique_tenant
from patron_shared.testing.export import (
    assert_export_needs_the_export_scope,
    export_of,
    insert_row,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def a_member_with_points(runtime: ServiceRuntime, tenant: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        points_accounts,
        customer_id=customer_id,
        card_number=uuid.uuid4().hex[:16],
        balance=120,
        tier="silver",
        tier_since=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        points_entries,
        entry_id=uuid.uuid4(),
        customer_id=customer_id,
        kind="earn",
        points=120,
        balance_after=120,
        reason="order 1234",
        source_type="order",
        source_id="1234",
        lot_moves=[],
        occurred_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        points_lots,
        lot_id=uuid.uuid4(),
        customer_id=customer_id,
        points=120,
        remaining=120,
        earned_at=NOW,
        order_id="1234",
    )
    await insert_row(
        runtime, tenant, credit_accounts, customer_id=customer_id, currency="USD", balance=15
    )
    return customer_id


async def test_the_export_holds_the_points_account_ledger_lots_and_credit(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id = await a_member_with_points(runtime, tenant)

    document = await export_of(client, tenant, customer_id)

    assert document["service"] == "loyalty"
    data = document["data"]
    assert data["points_account"]["balance"] == 120
    assert data["points_account"]["tier"] == "silver"
    assert "tenant_id" not in data["points_account"]
    assert [(e["kind"], e["points"]) for e in data["points_ledger"]] == [("earn", 120)]
    assert [lot["order_id"] for lot in data["points_lots"]] == ["1234"]
    assert [(a["currency"], a["balance"]) for a in data["credit_accounts"]] == [("USD", "15.0000")]


async def test_the_export_holds_the_customers_answered_credit_requests_with_what_they_did(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id, other = uuid.uuid4(), uuid.uuid4()
    key = f"goodwill-{uuid.uuid4()}"
    url = f"/api/v1/customers/{customer_id}/credit"
    issued = await client.post(
        url,
        json={"amount": "15.00", "currency": "EUR", "reason": "late parcel"},
        headers=admin | {"Idempotency-Key": key},
    )
    applied = await client.post(
        f"{url}/apply", json={"amount": "4.00", "currency": "EUR", "order_id": "A-1"}, headers=admin
    )
    other_issue = await client.post(
        f"/api/v1/customers/{other}/credit",
        json={"amount": "1.00", "currency": "EUR", "reason": "late parcel"},
        headers=admin | {"Idempotency-Key": f"other-{uuid.uuid4()}"},
    )
    assert (issued.status_code, applied.status_code, other_issue.status_code) == (201, 200, 201)

    requests = (await export_of(client, tenant, customer_id))["data"]["credit_requests"]

    assert sorted(
        (r["key_type"], r["key"], r["entry_type"], r["amount"], r["currency"]) for r in requests
    ) == [
        ("idempotency_key", key, "issue", "15.0000", "EUR"),
        ("order_id", "A-1", "apply", "-4.0000", "EUR"),
    ]
    assert {r["entry_id"] for r in requests} == {
        issued.json()["entry"]["id"],
        applied.json()["entry"]["id"],
    }
    assert all(r["created_at"] for r in requests)
    assert "fingerprint" not in requests[0]


async def test_an_unknown_customer_exports_every_part_empty(client: httpx.AsyncClient) -> None:
    document = await export_of(client, unique_tenant(), uuid.uuid4())

    assert document["data"]["points_account"] is None
    assert document["data"]["member"] is None
    assert all(
        document["data"][part] == []
        for part in (
            "points_ledger",
            "points_lots",
            "credit_accounts",
            "credit_ledger",
            "credit_requests",
        )
    )


async def test_the_export_never_shows_another_tenants_rows(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    customer_id = await a_member_with_points(runtime, unique_tenant())

    document = await export_of(client, unique_tenant(), customer_id)

    assert document["data"]["points_account"] is None
    assert document["data"]["points_ledger"] == []


async def test_the_export_needs_the_customers_export_scope(client: httpx.AsyncClient) -> None:
    await assert_export_needs_the_export_scope(client, unique_tenant())
