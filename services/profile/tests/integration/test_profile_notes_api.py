"""The notes API on a real database: authorship, soft deletion, masking, validation, tenancy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_profile.adapters.notes import customer_notes
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.notes import MAX_NOTE_LENGTH
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, row_security_of, unique_tenant
from patron_shared.testing import bearer_headers as bearer

pytestmark = pytest.mark.integration


async def a_customer(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/api/v1/customers", json={"email": f"{uuid.uuid4().hex}@example.com"}, headers=headers
    )
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def add(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/customers/{customer_id}/notes",
        json={"type": "general", "body": "note"} | body,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    note: dict[str, Any] = response.json()
    return note


async def listing(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/customers/{customer_id}/notes", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    notes: list[dict[str, Any]] = response.json()["data"]
    return notes


async def test_the_migration_puts_notes_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, _ = await row_security_of(service_database, ["customer_notes"])
    assert secured == {"customer_notes": True}


async def test_a_note_is_added_by_the_token_subject_listed_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    agent = bearer(tenant, "support", subject="agent-42")

    response = await client.post(
        f"/api/v1/customers/{customer_id}/notes",
        json={"type": "support", "body": "  Called about a late parcel.\n"},
        headers=agent,
    )

    assert response.status_code == 201, response.text
    note = response.json()
    url = f"/api/v1/customers/{customer_id}/notes/{note['id']}"
    assert response.headers["location"] == url
    assert (note["type"], note["body"], note["author"], note["customer_id"]) == (
        "support",
        "Called about a late parcel.",
        "agent-42",
        customer_id,
    )
    assert note["created_at"].endswith("Z") or note["created_at"].endswith("+00:00")
    page = await client.get(f"/api/v1/customers/{customer_id}/notes", headers=admin)
    assert page.json()["meta"]["total_items"] == 1
    assert page.json()["data"] == [note]

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert await listing(client, admin, customer_id) == []
    assert (await client.delete(url, headers=admin)).status_code == 404


async def test_a_deleted_note_stays_stored_with_who_deleted_it_and_when(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    note = await add(client, admin, customer_id, body="keep me")

    url = f"/api/v1/customers/{customer_id}/notes/{note['id']}"
    deleted = await client.delete(url, headers=bearer(tenant, subject="lead-7"))
    assert deleted.status_code == 204

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        row = (
            await uow.session.execute(
                select(customer_notes).where(customer_notes.c.id == uuid.UUID(note["id"]))
            )
        ).one()
    assert (row.body, row.author, row.deleted_by) == ("keep me", "dev-user", "lead-7")
    assert row.deleted_at is not None
    assert row.deleted_at >= row.created_at


async def test_notes_are_listed_newest_first_paginated_and_filtered_by_type(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    kinds = ["general", "support", "fraud_concern", "support", "payment_issue"]
    written = [(await add(client, admin, customer_id, type=kind))["id"] for kind in kinds]

    first = await client.get(
        f"/api/v1/customers/{customer_id}/notes?per_page=2&page=1", headers=admin
    )
    second = await listing(client, admin, customer_id, per_page=2, page=2)
    assert first.json()["meta"] == {
        "current_page": 1,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
        "total_is_exact": True,
    }
    assert [n["id"] for n in first.json()["data"] + second] == written[::-1][:4]

    support = await listing(client, admin, customer_id, type="support")
    assert [n["id"] for n in support] == [written[3], written[1]]


async def test_callers_without_the_pii_scope_see_notes_without_their_body(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    note = await add(client, admin, customer_id, type="account_alert", body="secret detail")
    analyst = bearer(tenant, "analyst")

    seen = await listing(client, analyst, customer_id)

    assert seen == [note | {"body": None}]
    assert "secret detail" not in str(seen)
    for denied in (
        await client.post(
            f"/api/v1/customers/{customer_id}/notes",
            json={"type": "general", "body": "x"},
            headers=analyst,
        ),
        await client.delete(f"/api/v1/customers/{customer_id}/notes/{note['id']}", headers=analyst),
    ):
        assert denied.status_code == 403
    assert len(await listing(client, admin, customer_id)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "complaint", "body": "x"}, "type"),
        ({"body": "x"}, "type"),
        ({"type": "general", "body": ""}, "body"),
        ({"type": "general", "body": "   "}, "body"),
        ({"type": "general", "body": "x" * (MAX_NOTE_LENGTH + 1)}, "body"),
        ({"type": "general"}, "body"),
        ({"type": "general", "body": "x", "author": "someone-else"}, "author"),
    ],
)
async def test_an_invalid_note_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    customer_id = await a_customer(client, admin)
    response = await client.post(f"/api/v1/customers/{customer_id}/notes", json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await listing(client, admin, customer_id) == []


async def test_a_longest_note_is_accepted(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    customer_id = await a_customer(client, admin)
    note = await add(client, admin, customer_id, body="é" * MAX_NOTE_LENGTH)
    assert len(note["body"]) == MAX_NOTE_LENGTH


async def test_an_unknown_type_filter_or_query_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    base = f"/api/v1/customers/{customer_id}/notes"
    for query, field in (("type=complaint", "type"), ("kind=support", "kind")):
        response = await client.get(f"{base}?{query}", headers=admin)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_an_unknown_or_deleted_customer_has_no_notes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    unknown = f"/api/v1/customers/{uuid.uuid4()}/notes"
    assert (await client.get(unknown, headers=admin)).status_code == 404
    created = await client.post(unknown, json={"type": "general", "body": "x"}, headers=admin)
    assert created.status_code == 404
    assert (await client.delete(f"{unknown}/{uuid.uuid4()}", headers=admin)).status_code == 404

    customer_id = await a_customer(client, admin)
    note = await add(client, admin, customer_id)
    await client.delete(f"/api/v1/customers/{customer_id}", headers=admin)
    base = f"/api/v1/customers/{customer_id}/notes"
    gone = await client.get(base, headers=admin)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert (await client.delete(f"{base}/{note['id']}", headers=admin)).status_code == 404


async def test_another_tenant_or_customer_cannot_reach_a_note(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime
) -> None:
    customer_id = await a_customer(client, admin)
    note = await add(client, admin, customer_id, body="mine")
    other_customer = await a_customer(client, admin)
    intruder_tenant = unique_tenant("intruder")
    intruder = bearer(intruder_tenant)

    for headers, owner in ((intruder, customer_id), (admin, other_customer)):
        url = f"/api/v1/customers/{owner}/notes/{note['id']}"
        assert (await client.delete(url, headers=headers)).status_code == 404
    assert (
        await client.get(f"/api/v1/customers/{customer_id}/notes", headers=intruder)
    ).status_code == 404
    assert await listing(client, admin, other_customer) == []
    assert [n["id"] for n in await listing(client, admin, customer_id)] == [note["id"]]

    # Row-level security hides the row even from a query without the tenant filter.
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=intruder_tenant) as uow:
        seen = await uow.session.scalar(
            select(customer_notes.c.id).where(customer_notes.c.id == uuid.UUID(note["id"]))
        )
    assert seen is None
