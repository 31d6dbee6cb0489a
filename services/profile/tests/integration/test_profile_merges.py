"""MergeCustomers and CustomersUnmerged through real Kafka and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_profile.adapters.merges import customer_merges
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.events import (
    CustomersUnmerged,
    MergeCustomers,
    OrderPlaced,
    UpsertCustomerFromSource,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe, inbox_claims

from .bus import emitted, eventually, new_customer, publish

pytestmark = pytest.mark.integration


async def status_of(client: httpx.AsyncClient, admin: dict[str, str], customer_id: str) -> int:
    response = await client.get(f"/api/v1/customers/{customer_id}", headers=admin)
    return response.status_code


async def merge_records(runtime: ServiceRuntime, tenant: str, secondary: str) -> list[Any]:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(customer_merges).where(customer_merges.c.secondary_id == uuid.UUID(secondary))
        )
        return list(rows)


async def a_pair(
    client: httpx.AsyncClient, admin: dict[str, str], probe: KafkaProbe, tenant: str
) -> tuple[str, str, str]:
    """A primary, and a secondary with tags, an external id, an address, a note, a consent
    and a counted order; and the secondary's email."""
    primary = await new_customer(client, admin, first_name="Jane", tags=["vip"])
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    secondary = await new_customer(
        client,
        admin,
        email=email,
        last_name="Doe",
        tags=["vip", "wholesale"],
        external_ids={"woo": "W-5"},
    )
    base = f"/api/v1/customers/{secondary}"
    address = {"type": "billing", "address1": "5 Elm St", "country": "us"}
    assert (await client.post(f"{base}/addresses", json=address, headers=admin)).is_success
    note = {"type": "support", "body": "asked for an invoice"}
    assert (await client.post(f"{base}/notes", json=note, headers=admin)).is_success
    consent = {"purpose": "sms_marketing", "granted": True, "source": "checkout"}
    assert (await client.post(f"{base}/consents", json=consent, headers=admin)).is_success
    order = OrderPlaced(
        order_id=f"O-{uuid.uuid4().hex[:8]}",
        customer_id=uuid.UUID(secondary),
        currency="USD",
        total=Decimal("80.00"),
        placed_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    await publish(probe, tenant, order)

    async def secondary_view() -> dict[str, Any]:
        body: dict[str, Any] = (await client.get(base, headers=admin)).json()
        return body

    await eventually(secondary_view, lambda body: body["total_orders"] == 1)
    return primary, secondary, email


async def test_a_merge_folds_the_secondary_into_the_primary_and_leaves_a_tombstone(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    primary, secondary, email = await a_pair(client, admin, probe, tenant)
    suggestion = uuid.uuid4()
    command = MergeCustomers(
        customer_id=uuid.UUID(primary),
        secondary_id=uuid.UUID(secondary),
        requested_by="reviewer-1",
        rule="same-email",
        score=0.93,
        suggestion_id=suggestion,
    )
    await publish(probe, tenant, command)

    assert (
        await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 404)
        == 404
    )
    gone = await client.get(f"/api/v1/customers/{secondary}", headers=admin)
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["merged_into"] == primary
    patch = await client.patch(
        f"/api/v1/customers/{secondary}", json={"first_name": "X"}, headers=admin
    )
    assert (patch.status_code, patch.json()["merged_into"]) == (409, primary)
    listed = await client.get(f"/api/v1/customers?email={email}", headers=admin)
    assert listed.json()["data"] == []

    survivor = (
        await client.get(f"/api/v1/customers/{primary}?include=addresses", headers=admin)
    ).json()
    assert survivor["last_name"] == "Doe"
    assert survivor["tags"] == ["vip", "wholesale"]
    assert survivor["external_ids"] == {"woo": "W-5"}
    assert [a["address1"] for a in survivor["addresses"]] == ["5 Elm St"]
    assert (survivor["total_orders"], survivor["total_spent"]) == (1, "80.00")
    notes = (await client.get(f"/api/v1/customers/{primary}/notes", headers=admin)).json()
    assert [n["body"] for n in notes["data"]] == ["asked for an invoice"]
    consents = (await client.get(f"/api/v1/customers/{primary}/consents", headers=admin)).json()
    assert {c["purpose"]: c["granted"] for c in consents["data"]} == {"sms_marketing": True}

    [record] = await merge_records(runtime, tenant, secondary)
    assert (record.primary_id, record.merged_by, record.rule) == (
        uuid.UUID(primary),
        "reviewer-1",
        "same-email",
    )
    assert record.added_tags == ["wholesale"]
    assert record.filled_fields == {"last_name": "Doe"}
    assert len(record.moved_order_ids) == len(record.moved_note_ids) == 1
    [merged] = await emitted(runtime, tenant, primary, "CustomersMerged")
    assert merged["data"] | {"merged_at": None} == {
        "customer_id": primary,
        "merged_customer_id": secondary,
        "merged_at": None,
        "merged_by": "reviewer-1",
        "merge_id": str(record.merge_id),
        "rule": "same-email",
        "score": 0.93,
        "suggestion_id": str(suggestion),
    }
    [updated] = await emitted(runtime, tenant, primary, "CustomerUpdated")
    assert set(updated["data"]["changed_fields"]) == {
        "last_name",
        "tags",
        "external_ids",
    }


async def test_the_same_merge_sent_twice_merges_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    primary = await new_customer(client, admin)
    secondary = await new_customer(client, admin, tags=["x"])
    command = MergeCustomers(customer_id=uuid.UUID(primary), secondary_id=uuid.UUID(secondary))
    first = await publish(probe, tenant, command)
    await publish(probe, tenant, command)  # another envelope: the inbox cannot tell
    # The consumer has passed both once a later command about the primary is applied.
    later = UpsertCustomerFromSource(customer_id=uuid.UUID(primary), source="pos", tags=["after"])
    await publish(probe, tenant, later)

    async def tags() -> list[str]:
        body = (await client.get(f"/api/v1/customers/{primary}", headers=admin)).json()
        found: list[str] = body["tags"]
        return found

    assert "after" in await eventually(tags, lambda found: "after" in found)
    assert len(await merge_records(runtime, tenant, secondary)) == 1
    assert len(await emitted(runtime, tenant, primary, "CustomersMerged")) == 1
    assert await inbox_claims(runtime, first.id) == 1


async def test_a_merge_that_cannot_apply_is_acknowledged_without_effect(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    primary = await new_customer(client, admin)
    unknown = uuid.uuid4()
    command = MergeCustomers(customer_id=uuid.UUID(primary), secondary_id=unknown)
    sent = await publish(probe, tenant, command)
    later = UpsertCustomerFromSource(customer_id=uuid.UUID(primary), source="pos", tags=["next"])
    await publish(probe, tenant, later)

    async def tags() -> list[str]:
        body = (await client.get(f"/api/v1/customers/{primary}", headers=admin)).json()
        found: list[str] = body["tags"]
        return found

    assert await eventually(tags, lambda found: "next" in found) == ["next"]
    assert await inbox_claims(runtime, sent.id) == 1
    assert await merge_records(runtime, tenant, str(unknown)) == []
    assert await emitted(runtime, tenant, primary, "CustomersMerged") == []


async def test_an_unmerge_restores_the_customer_and_takes_back_what_moved(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    primary, secondary, email = await a_pair(client, admin, probe, tenant)
    merge = MergeCustomers(customer_id=uuid.UUID(primary), secondary_id=uuid.UUID(secondary))
    await publish(probe, tenant, merge)
    await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 404)

    unmerge = CustomersUnmerged(
        customer_id=uuid.UUID(primary),
        restored_customer_id=uuid.UUID(secondary),
        unmerged_at=datetime.now(UTC),
        unmerged_by="reviewer-2",
    )
    await publish(probe, tenant, unmerge)
    assert (
        await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 200)
        == 200
    )

    restored = (
        await client.get(f"/api/v1/customers/{secondary}?include=addresses", headers=admin)
    ).json()
    assert (restored["email"], restored["last_name"]) == (email, "Doe")
    assert restored["tags"] == ["vip", "wholesale"]
    assert [a["address1"] for a in restored["addresses"]] == ["5 Elm St"]
    assert (restored["total_orders"], restored["total_spent"]) == (1, "80.00")
    survivor = (
        await client.get(f"/api/v1/customers/{primary}?include=addresses", headers=admin)
    ).json()
    assert (survivor["last_name"], survivor["tags"], survivor["external_ids"]) == (
        None,
        ["vip"],
        {},
    )
    assert (survivor["addresses"], survivor["total_orders"]) == ([], 0)
    notes = (await client.get(f"/api/v1/customers/{secondary}/notes", headers=admin)).json()
    assert len(notes["data"]) == 1
    listed = await client.get(f"/api/v1/customers?email={email}", headers=admin)
    assert [c["id"] for c in listed.json()["data"]] == [secondary]
    [record] = await merge_records(runtime, tenant, secondary)
    assert record.unmerged_by == "reviewer-2"
    [full] = await emitted(runtime, tenant, secondary, "CustomerUpdated")
    assert {"email", "tags", "external_ids", "status"} <= set(full["data"]["changed_fields"])
    survivor_updates = await emitted(runtime, tenant, primary, "CustomerUpdated")
    assert {"tags", "last_name"} <= set(survivor_updates[-1]["data"]["changed_fields"])


async def test_a_merge_keeps_an_address_both_have_once_unions_metadata_and_an_unmerge_splits_them(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    primary = await new_customer(client, admin)
    secondary = await new_customer(client, admin)
    street = {"type": "shipping", "address1": "1 Market St", "city": "SF", "country": "US"}
    holdings = {
        primary: ([street], {"store": "SF-01"}),
        secondary: (
            [street | {"city": "sf"}, street | {"type": "billing"}],
            {"store": "PDX-02", "size": {"top": "M"}},
        ),
    }
    for customer_id, (addresses, entries) in holdings.items():
        base = f"/api/v1/customers/{customer_id}"
        for address in addresses:
            assert (await client.post(f"{base}/addresses", json=address, headers=admin)).is_success
        for key, value in entries.items():
            body = {"value": value, "module_source": "pos"}
            assert (await client.put(f"{base}/metadata/{key}", json=body, headers=admin)).is_success

    async def holding(customer_id: str) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        url = f"/api/v1/customers/{customer_id}?include=addresses,metadata"
        body = (await client.get(url, headers=admin)).json()
        places = sorted((a["type"], a["city"]) for a in body["addresses"])
        return places, {m["key"]: m["value"] for m in body["metadata"]}

    before = {customer_id: await holding(customer_id) for customer_id in holdings}
    merged = await client.post(
        "/api/v1/customers/merge",
        json={"primary_id": primary, "secondary_id": secondary},
        headers=admin,
    )
    assert merged.status_code == 200, merged.text

    assert await holding(primary) == (
        [("billing", "SF"), ("shipping", "SF")],
        {"store": "SF-01", "size": {"top": "M"}},
    )
    copied = (await client.get(f"/api/v1/customers/{primary}/metadata", headers=admin)).json()
    [size] = [m for m in copied["data"] if m["key"] == "size"]
    assert (size["module_source"], size["updated_by"]) == (
        "pos",
        f"merge:{merged.json()['merge_id']}",
    )

    unmerge = CustomersUnmerged(
        customer_id=uuid.UUID(primary),
        restored_customer_id=uuid.UUID(secondary),
        unmerged_at=datetime.now(UTC),
        unmerged_by="reviewer-4",
    )
    await publish(probe, tenant, unmerge)
    await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 200)

    assert {customer_id: await holding(customer_id) for customer_id in holdings} == before


async def test_an_order_event_for_a_merged_customer_counts_for_its_survivor(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    primary = await new_customer(client, admin)
    secondary = await new_customer(client, admin)
    merge = MergeCustomers(customer_id=uuid.UUID(primary), secondary_id=uuid.UUID(secondary))
    await publish(probe, tenant, merge)
    await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 404)

    late = OrderPlaced(
        order_id=f"LATE-{uuid.uuid4().hex[:8]}",
        customer_id=uuid.UUID(secondary),
        currency="USD",
        total=Decimal("42.00"),
        placed_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    await publish(probe, tenant, late)

    async def survivor() -> dict[str, Any]:
        body: dict[str, Any] = (
            await client.get(f"/api/v1/customers/{primary}", headers=admin)
        ).json()
        return body

    body = await eventually(survivor, lambda found: found["total_orders"] == 1)
    assert (body["total_orders"], body["total_spent"]) == (1, "42.00")
    orders = (await client.get(f"/api/v1/customers/{primary}/orders", headers=admin)).json()
    assert [o["order_id"] for o in orders["data"]] == [late.order_id]


async def test_an_unmerge_whose_email_was_taken_since_restores_the_customer_without_it(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    primary = await new_customer(client, admin, first_name="Jane")
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    secondary = await new_customer(client, admin, email=email, last_name="Doe")
    merge = MergeCustomers(customer_id=uuid.UUID(primary), secondary_id=uuid.UUID(secondary))
    await publish(probe, tenant, merge)
    await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 404)
    newcomer = await new_customer(client, admin, email=email, first_name="Newcomer")

    unmerge = CustomersUnmerged(
        customer_id=uuid.UUID(primary),
        restored_customer_id=uuid.UUID(secondary),
        unmerged_at=datetime.now(UTC),
        unmerged_by="reviewer-3",
    )
    sent = await publish(probe, tenant, unmerge)

    assert (
        await eventually(lambda: status_of(client, admin, secondary), lambda status: status == 200)
        == 200
    )
    restored = (await client.get(f"/api/v1/customers/{secondary}", headers=admin)).json()
    assert (restored["email"], restored["last_name"]) == (None, "Doe")
    listed = await client.get(f"/api/v1/customers?email={email}", headers=admin)
    assert [c["id"] for c in listed.json()["data"]] == [newcomer]
    [record] = await merge_records(runtime, tenant, secondary)
    assert record.unmerged_by == "reviewer-3"
    assert await inbox_claims(runtime, sent.id) == 1
