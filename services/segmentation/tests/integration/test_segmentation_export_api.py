"""The segmentation part of a GDPR export: facts, segment memberships and orders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_segmentation.adapters.tables import customer_facts, segment_memberships
from patron_shared.http import ServiceRuntime
from patron_shared.testing import unique_tenant
from patron_shared.testing.export import (
    assert_export_needs_the_export_scope,
    export_of,
    insert_row,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def test_the_export_holds_the_facts_and_segments(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id = uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        customer_facts,
        customer_id=customer_id,
        tags=["vip"],
        order_count=3,
        total_spent=300,
        source_updated_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        segment_memberships,
        segment_key="repeat_buyers",
        customer_id=customer_id,
        entered_at=NOW,
    )

    document = await export_of(client, tenant, customer_id)

    assert document["service"] == "segmentation"
    data = document["data"]
    assert data["facts"]["order_count"] == 3
    assert data["facts"]["tags"] == ["vip"]
    assert [s["segment_key"] for s in data["segments"]] == ["repeat_buyers"]
    assert data["orders"] == []


async def test_an_unknown_customer_exports_every_part_empty(client: httpx.AsyncClient) -> None:
    document = await export_of(client, unique_tenant(), uuid.uuid4())

    assert document["data"] == {"facts": None, "segments": [], "orders": [], "message_opens": []}


async def test_the_export_needs_the_customers_export_scope(client: httpx.AsyncClient) -> None:
    await assert_export_needs_the_export_scope(client, unique_tenant())
