"""`GET .../customers/{id}/graph` and `POST /api/v1/identity/unmerge` on a real database."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_identity.adapters.tables import audit_log
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_shared.events import Topic
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

from .lineage_support import created, deliver, merged, outbox_events, owned

pytestmark = pytest.mark.integration

UNMERGE = "/api/v1/identity/unmerge"


def graph_url(customer_id: uuid.UUID) -> str:
    return f"/api/v1/identity/customers/{customer_id}/graph"


async def merged_pair(
    runtime: ServiceRuntime, tenant: str
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    survivor = await created(runtime, tenant, "ann@example.com")
    gone = await created(runtime, tenant, "ann.lee@example.com", "+14155550123")
    event = merged(survivor, gone)
    assert await deliver(runtime, tenant, event) == "processed"
    assert event.merge_id is not None
    return survivor, gone, event.merge_id


async def test_the_graph_lists_identifiers_and_the_merges_into_the_customer(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, gone, merge_id = await merged_pair(runtime, tenant)

    response = await client.get(graph_url(survivor), headers=bearer_headers(tenant, "support"))

    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == str(survivor)
    assert body["merged_into"] is None
    values = {i["value"]: i for i in body["identifiers"]}
    assert {"ann@example.com", "ann.lee@example.com", "+14155550123"} <= set(values)
    assert values["ann.lee@example.com"]["source"] == "profile"
    assert (
        values["ann.lee@example.com"]["first_seen_at"]
        <= values["ann.lee@example.com"]["last_seen_at"]
    )
    [merge] = body["merges"]
    assert {k: merge[k] for k in ("merge_id", "merged_customer_id", "merged_by", "rule")} == {
        "merge_id": str(merge_id),
        "merged_customer_id": str(gone),
        "merged_by": "auto",
        "rule": "exact:email",
    }
    assert merge["score"] == pytest.approx(0.9991)
    assert merge["unmerged_at"] is None
    moved = {(m["kind"], m["value"]) for m in merge["identifiers_moved"]}
    assert {("email", "ann.lee@example.com"), ("phone", "+14155550123")} <= moved


async def test_a_merged_away_customer_answers_with_its_survivor(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, gone, merge_id = await merged_pair(runtime, tenant)

    body = (await client.get(graph_url(gone), headers=bearer_headers(tenant))).json()

    assert body["merged_into"] == str(survivor)
    assert body["identifiers"] == []
    assert [(m["merge_id"], m["survivor_id"]) for m in body["merges"]] == [
        (str(merge_id), str(survivor))
    ]


async def test_callers_without_the_pii_scope_see_masked_emails_and_phones(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, _, _ = await merged_pair(runtime, tenant)
    reader = bearer_headers(tenant, scopes=["identity:read"])

    body = (await client.get(graph_url(survivor), headers=reader)).json()

    values = {i["value"] for i in body["identifiers"]}
    assert {"a***@example.com", "********0123"} <= values
    assert not any("ann" in v for v in values)
    moved = {m["value"] for m in body["merges"][0]["identifiers_moved"]}
    assert "ann.lee@example.com" not in moved
    assert any(v.startswith("shopify:") for v in values)  # external ids are not personal


async def test_an_unknown_or_foreign_customers_graph_is_a_404_problem(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    known = await created(runtime, tenant, "ann@example.com")
    intruder = bearer_headers(f"{tenant}-other")

    for customer_id, headers in ((uuid.uuid4(), bearer_headers(tenant)), (known, intruder)):
        response = await client.get(graph_url(customer_id), headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_unmerge_gives_identifiers_back_announces_it_and_is_audited(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, gone, merge_id = await merged_pair(runtime, tenant)
    moved_back = await owned(runtime, tenant, survivor)

    response = await client.post(
        UNMERGE,
        json={"merge_id": str(merge_id)},
        headers=bearer_headers(tenant, "support", subject="agent-42"),
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["merge_id"], body["unmerged_by"]) == (str(merge_id), "agent-42")
    assert body["unmerged_at"] is not None
    restored = await owned(runtime, tenant, gone)
    assert {"ann.lee@example.com", "+14155550123"} <= set(restored)
    assert set(await owned(runtime, tenant, survivor)) == set(moved_back) - set(restored)

    [row] = await outbox_events(runtime, tenant, "CustomersUnmerged")
    assert (row.topic, row.message_key) == (Topic.IDENTITY_EVENTS.value, str(survivor))
    data = row.payload["data"]
    assert (data["customer_id"], data["restored_customer_id"], data["unmerged_by"]) == (
        str(survivor),
        str(gone),
        "agent-42",
    )
    assert {i["value"] for i in data["identifiers"]} == set(restored)

    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        entries = (await uow.session.execute(select(audit_log))).all()
        gone_record = await uow.customers.get(gone)
    assert [(e.actor, e.action, e.customer_id) for e in entries] == [
        ("agent-42", "identity.unmerge", survivor)
    ]
    assert gone_record is not None
    assert gone_record.merged_into is None

    graph = (await client.get(graph_url(survivor), headers=bearer_headers(tenant))).json()
    assert graph["merges"][0]["unmerged_by"] == "agent-42"


async def test_an_unmerge_by_pair_then_again_is_a_409_conflict(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, gone, merge_id = await merged_pair(runtime, tenant)
    pair = {"survivor_id": str(survivor), "merged_customer_id": str(gone)}

    first = await client.post(UNMERGE, json=pair, headers=bearer_headers(tenant))
    second = await client.post(UNMERGE, json=pair, headers=bearer_headers(tenant))

    assert first.status_code == 200
    assert first.json()["merge_id"] == str(merge_id)
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert len(await outbox_events(runtime, tenant, "CustomersUnmerged")) == 1


async def test_an_unmerge_waits_for_the_survivors_own_later_merge_to_be_undone(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, _, merge_id = await merged_pair(runtime, tenant)
    final = await created(runtime, tenant, "final@example.com")
    await deliver(runtime, tenant, merged(final, survivor))

    response = await client.post(
        UNMERGE, json={"merge_id": str(merge_id)}, headers=bearer_headers(tenant)
    )

    assert response.status_code == 409
    assert response.json()["merged_into"] == str(final)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"survivor_id": str(uuid.uuid4())}, "body"),
        ({"merge_id": "not-a-uuid"}, "merge_id"),
        ({"merge_id": str(uuid.uuid4()), "reason": "oops"}, "reason"),
    ],
)
async def test_a_bad_unmerge_request_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(UNMERGE, json=body, headers=bearer_headers(tenant))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


async def test_an_unknown_merge_is_a_404_and_unmerging_needs_identity_write(
    client: httpx.AsyncClient, tenant: str
) -> None:
    body = {"merge_id": str(uuid.uuid4())}

    unknown = await client.post(UNMERGE, json=body, headers=bearer_headers(tenant))
    reader = await client.post(
        UNMERGE, json=body, headers=bearer_headers(tenant, scopes=["identity:read"])
    )

    assert unknown.status_code == 404
    assert reader.status_code == 403
    assert "identity:write" in reader.json()["detail"]
