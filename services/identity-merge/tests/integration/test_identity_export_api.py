"""The identity part of a GDPR export: the customer's record, identifiers and lineage."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_identity.adapters.tables import (
    identifiers,
    identity_customers,
    identity_merges,
    match_keys,
    rejected_pairs,
    source_deliveries,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import unique_tenant
from patron_shared.testing.export import (
    assert_export_needs_the_export_scope,
    export_of,
    insert_row,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def a_known_customer(runtime: ServiceRuntime, tenant: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        identity_customers,
        customer_id=customer_id,
        email="jane@example.com",
        first_name="Jane",
        source_updated_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        identifiers,
        kind="email",
        value=f"{uuid.uuid4().hex}@example.com",
        customer_id=customer_id,
        source="shopify",
    )
    return customer_id


async def test_the_export_holds_the_record_identifiers_and_sources(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id = await a_known_customer(runtime, tenant)

    document = await export_of(client, tenant, customer_id)

    assert document["service"] == "identity"
    data = document["data"]
    assert data["customer"]["email"] == "jane@example.com"
    assert "tenant_id" not in data["customer"]
    assert [(i["kind"], i["source"]) for i in data["identifiers"]] == [("email", "shopify")]


async def test_the_export_holds_merges_on_either_side(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        identity_merges,
        merge_id=uuid.uuid4(),
        survivor_id=survivor,
        merged_customer_id=merged,
        merged_at=NOW,
    )

    for customer_id in (survivor, merged):
        document = await export_of(client, tenant, customer_id)
        assert [m["merged_customer_id"] for m in document["data"]["merges"]] == [str(merged)]


async def test_the_export_holds_match_keys_and_pairs_decided_apart(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id, other = uuid.uuid4(), uuid.uuid4()
    await insert_row(
        runtime, tenant, match_keys, key="email:jane@example.com", customer_id=customer_id
    )
    await insert_row(runtime, tenant, match_keys, key="email:else@example.com", customer_id=other)
    first, second = sorted((customer_id, other))
    await insert_row(
        runtime,
        tenant,
        rejected_pairs,
        first_customer_id=first,
        second_customer_id=second,
        decided_by="staff:ann",
        decided_at=NOW,
    )

    data = (await export_of(client, tenant, customer_id))["data"]

    assert [k["key"] for k in data["match_keys"]] == ["email:jane@example.com"]
    assert [(p["first_customer_id"], p["decided_by"]) for p in data["rejected_pairs"]] == [
        (str(first), "staff:ann")
    ]


def result(customer_id: uuid.UUID, external_id: str) -> dict[str, object]:
    """One profile's result in a remembered delivery's outcome."""
    return {
        "external_id": external_id,
        "event": "upsert",
        "customer_id": str(customer_id),
        "created": False,
        "matched_by": "external_id",
    }


async def test_the_export_holds_the_deliveries_naming_the_customer_and_only_its_results(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id, other = uuid.uuid4(), uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        source_deliveries,
        channel="api:shopify",
        delivery_key="batch-1",
        fingerprint="f1",
        outcome=[result(other, "shopify:2"), result(customer_id, "shopify:1")],
        received_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        source_deliveries,
        channel="api:shopify",
        delivery_key="batch-2",
        fingerprint="f2",
        outcome=[result(other, "shopify:2")],
        received_at=NOW,
    )
    # a customer id as some other value of a result is not the customer's result
    await insert_row(
        runtime,
        tenant,
        source_deliveries,
        channel="api:woocommerce",
        delivery_key="batch-3",
        fingerprint="f3",
        outcome=[result(other, str(customer_id))],
        received_at=NOW,
    )

    deliveries = (await export_of(client, tenant, customer_id))["data"]["source_deliveries"]

    assert deliveries == [
        {
            "channel": "api:shopify",
            "delivery_key": "batch-1",
            "outcome": [result(customer_id, "shopify:1")],
            "received_at": NOW.isoformat().replace("+00:00", "Z"),
        }
    ]
    other_deliveries = (await export_of(client, tenant, other))["data"]["source_deliveries"]
    assert sorted(d["delivery_key"] for d in other_deliveries) == ["batch-1", "batch-2", "batch-3"]


async def test_an_unknown_customer_exports_every_part_empty(client: httpx.AsyncClient) -> None:
    document = await export_of(client, unique_tenant(), uuid.uuid4())

    assert document["data"]["customer"] is None
    assert document["data"]["identifiers"] == []
    assert document["data"]["merges"] == []
    assert document["data"]["source_deliveries"] == []


async def test_the_export_needs_the_customers_export_scope(client: httpx.AsyncClient) -> None:
    await assert_export_needs_the_export_scope(client, unique_tenant())
