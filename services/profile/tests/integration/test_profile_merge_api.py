"""`POST /api/v1/customers/merge` on a real database: the merge flow, its answers, and
asking twice."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
MERGE = "/api/v1/customers/merge"


async def a_customer(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    body = {"email": f"{uuid.uuid4().hex}@example.com"} | fields
    created = await client.post("/api/v1/customers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    customer_id: str = created.json()["id"]
    return customer_id


async def merge(
    client: httpx.AsyncClient, headers: dict[str, str], primary: str, secondary: str
) -> httpx.Response:
    return await client.post(
        MERGE, json={"primary_id": primary, "secondary_id": secondary}, headers=headers
    )


async def test_a_merge_folds_the_secondary_into_the_primary_and_leaves_a_tombstone(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer_headers(unique_tenant())
    primary = await a_customer(client, headers, tags=["vip"])
    secondary = await a_customer(client, headers, first_name="Ada", tags=["gift"])
    note = await client.post(
        f"/api/v1/customers/{secondary}/notes",
        json={"type": "general", "body": "called about a refund"},
        headers=headers,
    )
    assert note.status_code == 201, note.text

    response = await merge(client, headers, primary, secondary)

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["primary_id"], result["secondary_id"]) == (primary, secondary)
    assert "first_name" in result["filled_fields"]
    assert result["added_tags"] == ["gift"]
    assert result["moved_note_ids"] == [note.json()["id"]]
    merged = (await client.get(f"/api/v1/customers/{primary}", headers=headers)).json()
    assert merged["first_name"] == "Ada"
    assert sorted(merged["tags"]) == ["gift", "vip"]
    tombstone = await client.get(f"/api/v1/customers/{secondary}", headers=headers)
    assert tombstone.status_code == 404, tombstone.text
    assert tombstone.json()["merged_into"] == primary


async def test_asking_again_for_a_done_merge_answers_the_same_merge(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer_headers(unique_tenant())
    primary = await a_customer(client, headers)
    secondary = await a_customer(client, headers)

    first = await merge(client, headers, primary, secondary)
    again = await merge(client, headers, primary, secondary)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()


async def test_one_customer_named_twice_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer_headers(unique_tenant())
    customer = await a_customer(client, headers)

    response = await merge(client, headers, customer, customer)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "secondary_id" in response.text


async def test_an_unknown_customer_is_not_found(client: httpx.AsyncClient) -> None:
    headers = bearer_headers(unique_tenant())
    customer = await a_customer(client, headers)
    unknown = str(uuid.uuid4())

    as_secondary = await merge(client, headers, customer, unknown)
    as_primary = await merge(client, headers, unknown, customer)

    assert as_secondary.status_code == 404, as_secondary.text
    assert unknown in as_secondary.json()["detail"]
    assert as_primary.status_code == 404, as_primary.text


async def test_a_customer_merged_elsewhere_is_a_conflict_naming_where_it_went(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer_headers(unique_tenant())
    first, second, third = [await a_customer(client, headers) for _ in range(3)]
    assert (await merge(client, headers, first, second)).status_code == 200

    secondary_gone = await merge(client, headers, third, second)
    primary_gone = await merge(client, headers, second, third)

    assert secondary_gone.status_code == 409, secondary_gone.text
    assert secondary_gone.json()["merged_into"] == first
    assert primary_gone.status_code == 409, primary_gone.text
    assert primary_gone.json()["merged_into"] == first


async def test_a_bad_body_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    headers = bearer_headers(unique_tenant())

    response = await client.post(
        MERGE, json={"primary_id": "nope", "secondary_id": str(uuid.uuid4())}, headers=headers
    )

    assert response.status_code == 422, response.text
    assert "primary_id" in response.text


async def test_merging_needs_the_write_scope(client: httpx.AsyncClient) -> None:
    tenant = unique_tenant()
    body = {"primary_id": str(uuid.uuid4()), "secondary_id": str(uuid.uuid4())}

    response = await client.post(MERGE, json=body, headers=bearer_headers(tenant, "analyst"))

    assert response.status_code == 403, response.text
