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


async def test_an_unknown_customer_exports_every_part_empty(client: httpx.AsyncClient) -> None:
    document = await export_of(client, unique_tenant(), uuid.uuid4())

    assert document["data"]["points_account"] is None
    assert document["data"]["member"] is None
    assert all(
        document["data"][part] == []
        for part in ("points_ledger", "points_lots", "credit_accounts", "credit_ledger")
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
