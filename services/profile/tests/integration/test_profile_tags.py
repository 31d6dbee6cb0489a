"""Tags on one customer, in bulk (set-based) and counted, on a real database."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_profile.adapters.tables import customer_tags, customers, messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.events import CONTRACTS, Envelope
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/api/v1/customers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def outbox_types(runtime: ServiceRuntime, tenant: str, customer_id: str) -> list[str]:
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.scalars(
            select(outbox.c.message_type)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_key == customer_id)
            .order_by(outbox.c.seq)
        )
        return list(rows)


async def test_tags_are_added_to_and_removed_from_one_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await create(client, admin, email="tagme@example.com", tags=["a"])

    added = await client.post(
        f"/api/v1/customers/{customer_id}/tags", json={"tags": ["B", "a", "c"]}, headers=admin
    )
    removed = await client.delete(f"/api/v1/customers/{customer_id}/tags/B", headers=admin)

    assert added.json()["tags"] == ["a", "b", "c"]
    assert removed.json()["tags"] == ["a", "c"]
    missing = await client.post(
        f"/api/v1/customers/{uuid.uuid4()}/tags", json={"tags": ["x"]}, headers=admin
    )
    assert missing.status_code == 404


async def test_bulk_tagging_changes_only_what_needs_it_and_announces_each_change(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    fresh = await create(client, admin, email="fresh@example.com")
    already = await create(client, admin, email="already@example.com", tags=["promo"])
    ghost = str(uuid.uuid4())

    response = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [fresh, already, ghost, fresh], "tags": ["PROMO", "summer"]},
        headers=admin,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"requested": 3, "changed": 2, "unchanged": 0, "not_found": [ghost]}
    fresh_tags = (await client.get(f"/api/v1/customers/{fresh}", headers=admin)).json()["tags"]
    already_tags = (await client.get(f"/api/v1/customers/{already}", headers=admin)).json()
    assert fresh_tags == ["promo", "summer"]
    assert already_tags["tags"] == ["promo", "summer"]
    assert await outbox_types(runtime, tenant, fresh) == [
        "CustomerCreated",
        "CustomerUpdated",
        "TagsChanged",
    ]

    again = await client.post(
        "/api/v1/customers/bulk/tags/remove",
        json={"customer_ids": [fresh, already], "tags": ["summer", "nothing"]},
        headers=admin,
    )
    assert again.json()["changed"] == 2
    assert (await client.get(f"/api/v1/customers/{fresh}", headers=admin)).json()["tags"] == [
        "promo"
    ]


async def test_bulk_tagging_ten_thousand_customers_is_set_based(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    ids = [await create(client, admin, email=f"bulk{n}@example.com") for n in range(50)]

    response = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": ids + [str(uuid.uuid4()) for _ in range(9_950)], "tags": ["x"]},
        headers=admin,
    )

    assert response.json()["changed"] == 50
    assert len(response.json()["not_found"]) == 9_950
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        announced = await uow.session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == "TagsChanged")
        )
    assert announced == 50
    too_many = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [str(uuid.uuid4()) for _ in range(10_001)], "tags": ["x"]},
        headers=admin,
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "customer_ids"


async def test_tag_counts_list_each_tag_with_its_customers_most_used_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, email="t1@example.com", tags=["vip", "gift"])
    await create(client, admin, email="t2@example.com", tags=["vip"])
    gone = await create(client, admin, email="t3@example.com", tags=["vip", "gift"])
    await client.delete(f"/api/v1/customers/{gone}", headers=admin)

    body = (await client.get("/api/v1/tags", headers=admin)).json()

    assert body["data"] == [{"tag": "vip", "customers": 2}, {"tag": "gift", "customers": 1}]
    assert body["meta"]["total_items"] == 2


async def announced_since(runtime: ServiceRuntime, tenant: str, seq: int) -> list[Envelope]:
    """The tenant's outbox messages written after `seq`, in publishing order, each checked
    against the envelope and its contract."""
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = (
            await uow.session.execute(
                select(outbox.c.message_key, outbox.c.payload)
                .where(outbox.c.tenant_id == tenant, outbox.c.seq > seq)
                .order_by(outbox.c.seq)
            )
        ).all()
    envelopes = [Envelope.model_validate(row.payload) for row in rows]
    for row, envelope in zip(rows, envelopes, strict=True):
        assert row.message_key == envelope.subject
        CONTRACTS.parse_data(envelope)
    return envelopes


async def last_seq(runtime: ServiceRuntime, tenant: str) -> int:
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        seq = await uow.session.scalar(
            select(func.max(outbox.c.seq)).where(outbox.c.tenant_id == tenant)
        )
    return int(seq or 0)


async def test_bulk_tagging_announces_each_changed_customer_with_its_snapshot_and_change(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    old = await create(client, admin, email="old@example.com", first_name="Ann", tags=["old"])
    both = await create(client, admin, email="both@example.com", tags=["promo", "old"])
    bare = await create(client, admin, phone="+12025550143", last_name="Lee")
    before = await last_seq(runtime, tenant)

    added = await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [old, both, bare], "tags": ["promo", "new"]},
        headers=admin,
    )
    adding = await announced_since(runtime, tenant, before)
    # customer: (tags after, added, removed)
    await assert_announced(
        client,
        admin,
        adding,
        {
            old: (["old", "promo", "new"], ["promo", "new"], []),
            both: (["promo", "old", "new"], ["new"], []),
            bare: (["promo", "new"], ["promo", "new"], []),
        },
    )
    after_adding = await last_seq(runtime, tenant)
    removed = await client.post(
        "/api/v1/customers/bulk/tags/remove",
        json={"customer_ids": [old, both, bare], "tags": ["old", "absent"]},
        headers=admin,
    )
    removing = await announced_since(runtime, tenant, after_adding)

    assert added.json()["changed"] == 3
    assert removed.json() == {"requested": 3, "changed": 2, "unchanged": 1, "not_found": []}
    # `bare` never had "old": unchanged, so not announced.
    await assert_announced(
        client,
        admin,
        removing,
        {old: (["promo", "new"], [], ["old"]), both: (["promo", "new"], [], ["old"])},
    )
    bare_snapshot = next(e for e in adding if e.subject == bare).data["customer"]
    assert (bare_snapshot["full_name"], bare_snapshot["email"]) == ("Lee", None)


async def assert_announced(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    envelopes: list[Envelope],
    changes: dict[str, tuple[list[str], list[str], list[str]]],
) -> None:
    """Exactly a CustomerUpdated then a TagsChanged for each changed customer, no others."""
    by_customer: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        by_customer.setdefault(str(envelope.subject), []).append(envelope)
    assert set(by_customer) == set(changes)
    for customer_id, (tags, added, removed) in changes.items():
        updated, tags_changed = by_customer[customer_id]
        stored = (await client.get(f"/api/v1/customers/{customer_id}", headers=admin)).json()
        assert (updated.type, tags_changed.type) == ("CustomerUpdated", "TagsChanged")
        assert updated.data["changed_fields"] == ["tags"]
        snapshot = updated.data["customer"]
        assert snapshot["tags"] == stored["tags"] == tags
        assert (snapshot["email"], snapshot["full_name"]) == (stored["email"], stored["full_name"])
        assert snapshot["updated_at"] == stored["updated_at"].replace("+00:00", "Z")
        assert tags_changed.data == {
            "customer_id": customer_id,
            "added": added,
            "removed": removed,
            "tags": tags,
        }


async def test_tag_filters_and_counts_follow_every_kind_of_tag_change(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ann = await create(client, admin, email="ann@example.com", tags=["vip"])
    bob = await create(client, admin, email="bob@example.com", tags=["vip", "gift"])
    cyd = await create(client, admin, email="cyd@example.com")
    gone = await create(client, admin, email="gone@example.com", tags=["summer"])

    await client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [ann, cyd, gone], "tags": ["summer"]},
        headers=admin,
    )
    await client.post(
        "/api/v1/customers/bulk/tags/remove",
        json={"customer_ids": [bob], "tags": ["vip"]},
        headers=admin,
    )
    await client.post(f"/api/v1/customers/{bob}/tags", json={"tags": ["summer"]}, headers=admin)
    await client.delete(f"/api/v1/customers/{ann}/tags/vip", headers=admin)
    await client.patch(f"/api/v1/customers/{cyd}", json={"tags": ["summer", "b2b"]}, headers=admin)
    await client.delete(f"/api/v1/customers/{gone}", headers=admin)

    async def emails(query: str) -> set[str]:
        response = await client.get(f"/api/v1/customers?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return {c["email"] for c in response.json()["data"]}

    assert await emails("tags=summer") == {"ann@example.com", "bob@example.com", "cyd@example.com"}
    assert await emails("tags=gift,b2b") == {"bob@example.com", "cyd@example.com"}
    assert await emails("tags=summer,gift&tags_match=all") == {"bob@example.com"}
    assert await emails("tags=summer,b2b,gift&tags_match=all") == set()
    assert await emails("tags=vip") == set()
    counts = (await client.get("/api/v1/tags", headers=admin)).json()
    assert counts["data"] == [
        {"tag": "summer", "customers": 3},
        {"tag": "b2b", "customers": 1},
        {"tag": "gift", "customers": 1},
    ]


async def test_the_tag_index_holds_exactly_the_live_customers_tags_whoever_writes_them(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    kept = await create(client, admin, email="kept@example.com", tags=["a", "b"])
    erased = await create(client, admin, email="erased@example.com", tags=["a"])
    deleted = await create(client, admin, email="deleted@example.com", tags=["b"])
    await client.delete(f"/api/v1/customers/{deleted}", headers=admin)
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        # Writers other than the API's paths: a raw update and a hard delete.
        await uow.session.execute(
            customers.update()
            .where(customers.c.id == uuid.UUID(kept))
            .values(tags=func.array_append(customers.c.tags, "c"))
        )
        await uow.session.execute(customers.delete().where(customers.c.id == uuid.UUID(erased)))
        await uow.commit()

    assert await index_of(runtime, tenant) == {(kept, "a"), (kept, "b"), (kept, "c")}
    assert await index_of(runtime, tenant) == await live_tags_of(runtime, tenant)


async def index_of(runtime: ServiceRuntime, tenant: str) -> set[tuple[str, str]]:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(customer_tags.c.customer_id, customer_tags.c.tag).where(
                customer_tags.c.tenant_id == tenant
            )
        )
        return {(str(customer_id), tag) for customer_id, tag in rows}


async def live_tags_of(runtime: ServiceRuntime, tenant: str) -> set[tuple[str, str]]:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(customers.c.id, customers.c.tags).where(
                customers.c.tenant_id == tenant, customers.c.deleted_at.is_(None)
            )
        )
        return {(str(customer_id), tag) for customer_id, tags in rows for tag in tags}
