"""The audit log: reads of personal data and every change, per customer, for admins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from patron_shared.testing.auth import bearer_headers

from .bus import new_customer

pytestmark = pytest.mark.integration


async def audit(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/customers/{customer_id}/audit", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_pii_read_and_an_update_are_audited_with_actor_fields_and_request_id(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    support = bearer_headers(tenant, "support", subject="agent-42")
    customer_id = await new_customer(client, admin, first_name="Ann")

    read = await client.get(f"/api/v1/customers/{customer_id}", headers=support)
    patch = await client.patch(
        f"/api/v1/customers/{customer_id}",
        json={"first_name": "Anna", "last_name": "Berg"},
        headers=support,
    )
    assert read.status_code == 200
    assert patch.status_code == 200, patch.text

    entries = (await audit(client, admin, customer_id))["data"]

    actions = [(entry["actor"], entry["action"]) for entry in entries]
    assert actions == [("agent-42", "update"), ("agent-42", "read_pii"), ("dev-user", "create")]
    update = entries[0]
    assert set(update["fields"]) >= {"first_name", "last_name"}
    assert "Anna" not in str(entries)
    assert "Berg" not in str(entries)
    assert update["request_id"]
    assert update["request_id"] != entries[1]["request_id"]


async def test_a_read_without_the_pii_scope_is_not_audited(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    marketer = bearer_headers(tenant, "marketing")
    customer_id = await new_customer(client, admin)

    response = await client.get(f"/api/v1/customers/{customer_id}", headers=marketer)
    assert response.status_code == 200

    entries = (await audit(client, admin, customer_id))["data"]
    assert [entry["action"] for entry in entries] == ["create"]


async def test_notes_and_metadata_changes_are_audited_by_field_name(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await new_customer(client, admin)
    base = f"/api/v1/customers/{customer_id}"
    note = {"type": "support", "body": "secret-ish text"}
    assert (await client.post(f"{base}/notes", json=note, headers=admin)).status_code == 201
    put = await client.put(
        f"{base}/metadata/shoe_size", json={"value": 42, "module_source": "fit"}, headers=admin
    )
    assert put.is_success, put.text

    entries = (await audit(client, admin, customer_id))["data"]

    assert [(entry["action"], entry["fields"]) for entry in entries][:2] == [
        ("metadata", ["metadata.shoe_size"]),
        ("note", ["notes"]),
    ]
    assert "secret-ish" not in str(entries)


async def test_the_audit_log_is_paginated_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await new_customer(client, admin)
    for n in range(4):
        response = await client.patch(
            f"/api/v1/customers/{customer_id}", json={"first_name": f"N{n}"}, headers=admin
        )
        assert response.status_code == 200

    first = await audit(client, admin, customer_id, per_page=3)
    second = await audit(
        client, admin, customer_id, per_page=3, cursor=first["meta"]["next_cursor"]
    )

    listed = first["data"] + second["data"]
    assert [entry["action"] for entry in listed] == ["update"] * 4 + ["create"]
    moments = [entry["at"] for entry in listed]
    assert moments == sorted(moments, reverse=True)
    assert second["meta"]["next_cursor"] is None


@pytest.mark.parametrize("role", ["manager", "support", "marketing"])
async def test_reading_the_audit_log_needs_the_audit_read_scope(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, role: str
) -> None:
    customer_id = await new_customer(client, admin)

    response = await client.get(
        f"/api/v1/customers/{customer_id}/audit", headers=bearer_headers(tenant, role)
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    ok = await client.get(
        f"/api/v1/customers/{customer_id}/audit",
        headers=bearer_headers(tenant, scopes=["audit:read"]),
    )
    assert ok.status_code == 200


async def test_a_list_page_shown_with_pii_is_audited_for_each_customer_on_it(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    support = bearer_headers(tenant, "support", subject="agent-7")
    marketer = bearer_headers(tenant, "marketing", subject="marketer-1")
    listed = [await new_customer(client, admin) for _ in range(2)]

    assert (await client.get("/api/v1/customers", headers=marketer)).status_code == 200
    page = await client.get("/api/v1/customers", headers=support)
    assert page.status_code == 200
    assert {c["id"] for c in page.json()["data"]} == set(listed)

    for customer_id in listed:
        entries = (await audit(client, admin, customer_id))["data"]
        assert [(entry["actor"], entry["action"]) for entry in entries] == [
            ("agent-7", "read_pii"),
            ("dev-user", "create"),
        ]
