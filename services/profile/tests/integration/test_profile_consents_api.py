"""The consent API on a real database: history, current state, accepts_marketing, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from patron_profile.adapters.consents import consent_entries
from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, row_security_of, unique_tenant
from patron_shared.testing import bearer_headers as bearer

pytestmark = pytest.mark.integration


async def a_customer(client: httpx.AsyncClient, headers: dict[str, str], **values: Any) -> str:
    response = await client.post(
        "/api/v1/customers",
        json={"email": f"{uuid.uuid4().hex}@example.com", **values},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def consent(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/customers/{customer_id}/consents",
        json={"source": "checkout", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    recorded: dict[str, Any] = response.json()
    return recorded


async def accepts_marketing(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str
) -> bool:
    response = await client.get(f"/api/v1/customers/{customer_id}", headers=headers)
    assert response.status_code == 200, response.text
    return bool(response.json()["accepts_marketing"])


async def history(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, query: str = ""
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/customers/{customer_id}/consents/history{query}", headers=headers
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def outbox_events(
    runtime: ServiceRuntime, tenant: str, customer_id: str
) -> list[tuple[str, dict[str, Any]]]:
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(outbox.c.message_type, outbox.c.payload)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_key == customer_id)
            .order_by(outbox.c.seq)
        )
        return [(kind, payload["data"]) for kind, payload in rows]


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


async def test_the_migration_puts_both_consent_tables_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, _ = await row_security_of(service_database, ["consent_entries", "consents"])
    assert secured == {"consent_entries": True, "consents": True}


async def test_grant_and_revoke_flip_accepts_marketing_and_write_both_events(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)

    granted = await consent(client, admin, customer_id, purpose="email_marketing", granted=True)
    assert (granted["changed"], granted["consent"]["granted"], granted["consent"]["channel"]) == (
        True,
        True,
        "email",
    )
    assert granted["entry"]["recorded_by"] == "dev-user"
    assert await accepts_marketing(client, admin, customer_id) is True

    await consent(client, admin, customer_id, purpose="email_marketing", granted=False)
    assert await accepts_marketing(client, admin, customer_id) is False

    events = await outbox_events(runtime, tenant, customer_id)
    assert [kind for kind, _ in events] == [
        "CustomerCreated",
        "ConsentChanged",
        "CustomerUpdated",
        "ConsentChanged",
        "CustomerUpdated",
    ]
    changes = [
        (data["channel"], data["purpose"], data["granted"], data["source"])
        for kind, data in events
        if kind == "ConsentChanged"
    ]
    assert changes == [
        ("email", "marketing", True, "checkout"),
        ("email", "marketing", False, "checkout"),
    ]
    updates = [
        (data["changed_fields"], data["customer"]["accepts_marketing"])
        for kind, data in events
        if kind == "CustomerUpdated"
    ]
    assert updates == [(["accepts_marketing"], True), (["accepts_marketing"], False)]


async def test_the_same_choice_again_is_recorded_but_announces_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await consent(client, admin, customer_id, purpose="sms_marketing", granted=True)
    again = await consent(client, admin, customer_id, purpose="sms_marketing", granted=True)

    assert again["changed"] is False
    assert again["consent"]["entry_id"] == again["entry"]["id"]
    assert (await history(client, admin, customer_id))["meta"]["total_items"] == 2
    kinds = [kind for kind, _ in await outbox_events(runtime, tenant, customer_id)]
    assert kinds == ["CustomerCreated", "ConsentChanged"]
    assert await accepts_marketing(client, admin, customer_id) is False


async def test_patching_accepts_marketing_records_history_and_the_consent(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin, accepts_marketing=True)
    url = f"/api/v1/customers/{customer_id}"
    patched = await client.patch(url, json={"accepts_marketing": False}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert patched.json()["accepts_marketing"] is False
    unchanged = await client.patch(url, json={"accepts_marketing": False}, headers=admin)
    assert unchanged.status_code == 200

    entries = (await history(client, admin, customer_id))["data"]
    assert [(e["purpose"], e["granted"], e["source"]) for e in entries] == [
        ("email_marketing", False, "profile_api"),
        ("email_marketing", True, "profile_api"),
    ]
    current = await client.get(f"{url}/consents", headers=admin)
    assert current.json()["accepts_marketing"] is False
    assert [(c["purpose"], c["granted"]) for c in current.json()["data"]] == [
        ("email_marketing", False)
    ]
    kinds = [kind for kind, _ in await outbox_events(runtime, tenant, customer_id)]
    assert kinds == ["CustomerCreated", "ConsentChanged", "ConsentChanged", "CustomerUpdated"]


async def test_put_records_accepts_marketing_like_patch(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    customer_id = await a_customer(client, admin, email=email)
    replaced = await client.put(
        f"/api/v1/customers/{customer_id}",
        json={"email": email, "accepts_marketing": True},
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.text

    entries = (await history(client, admin, customer_id))["data"]
    assert [(e["granted"], e["source"]) for e in entries] == [(True, "profile_api")]


async def test_the_history_is_complete_and_newest_first_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    recorded = [
        await consent(
            client, admin, customer_id, purpose=purpose, granted=granted, occurred_at=ago(hours=h)
        )
        for purpose, granted, h in (
            ("email_marketing", True, 5),
            ("profiling", True, 4),
            ("email_marketing", False, 3),
            ("data_processing", True, 2),
            ("push_marketing", True, 1),
        )
    ]
    ids = [r["entry"]["id"] for r in recorded]

    everything = await history(client, admin, customer_id)
    assert [e["id"] for e in everything["data"]] == list(reversed(ids))
    first = await history(client, admin, customer_id, "?per_page=2&page=1")
    second = await history(client, admin, customer_id, "?per_page=2&page=2")
    assert [e["id"] for e in first["data"] + second["data"]] == list(reversed(ids))[:4]
    assert first["meta"]["total_items"] == 5
    email_only = await history(client, admin, customer_id, "?purpose=email_marketing")
    assert [e["id"] for e in email_only["data"]] == [ids[2], ids[0]]

    current = (await client.get(f"/api/v1/customers/{customer_id}/consents", headers=admin)).json()
    assert [(c["purpose"], c["channel"], c["granted"]) for c in current["data"]] == [
        ("data_processing", None, True),
        ("email_marketing", "email", False),
        ("profiling", None, True),
        ("push_marketing", "push", True),
    ]


async def test_an_older_entry_is_kept_in_history_but_does_not_override(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    newer = await consent(
        client, admin, customer_id, purpose="email_marketing", granted=True, occurred_at=ago(days=1)
    )
    older = await consent(
        client,
        admin,
        customer_id,
        purpose="email_marketing",
        granted=False,
        source="import",
        occurred_at=ago(days=30),
    )

    assert older["changed"] is False
    assert older["consent"]["entry_id"] == newer["entry"]["id"]
    assert await accepts_marketing(client, admin, customer_id) is True
    entries = (await history(client, admin, customer_id))["data"]
    assert [e["id"] for e in entries] == [newer["entry"]["id"], older["entry"]["id"]]
    kinds = [kind for kind, _ in await outbox_events(runtime, tenant, customer_id)]
    assert kinds.count("ConsentChanged") == 1


async def test_pii_of_an_entry_needs_the_pii_scope(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await consent(
        client,
        admin,
        customer_id,
        purpose="email_marketing",
        granted=True,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
    )

    full = (await history(client, admin, customer_id))["data"][0]
    masked = (await history(client, bearer(tenant, "analyst"), customer_id))["data"][0]
    assert (full["ip_address"], full["user_agent"]) == ("203.0.113.7", "Mozilla/5.0")
    assert (masked["ip_address"], masked["user_agent"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "carrier_pigeon", "granted": True}, "purpose"),
        ({"granted": True}, "purpose"),
        (
            {"purpose": "email_marketing", "granted": True, "occurred_at": "2026-01-01T00:00:00"},
            "occurred_at",
        ),
        (
            {"purpose": "email_marketing", "granted": True, "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
        ),
        ({"purpose": "email_marketing", "granted": "maybe"}, "granted"),
        ({"purpose": "email_marketing", "granted": True, "source": "Bad Source"}, "source"),
        ({"purpose": "email_marketing", "granted": True, "ip_address": "nope"}, "ip_address"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_records_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    customer_id = await a_customer(client, admin)
    response = await client.post(
        f"/api/v1/customers/{customer_id}/consents",
        json={"source": "checkout"} | body,
        headers=admin,
    )

    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert (await history(client, admin, customer_id))["meta"]["total_items"] == 0


async def test_unknown_query_parameters_and_purposes_are_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    base = f"/api/v1/customers/{customer_id}/consents"

    unknown = await client.get(f"{base}?history=true", headers=admin)
    bad_purpose = await client.get(f"{base}/history?purpose=carrier_pigeon", headers=admin)

    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "history"
    assert bad_purpose.status_code == 422
    assert bad_purpose.json()["errors"][0]["field"] == "purpose"


async def test_unknown_deleted_and_other_tenants_customers_are_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    await consent(client, admin, customer_id, purpose="email_marketing", granted=True)
    deleted = await a_customer(client, admin)
    assert (await client.delete(f"/api/v1/customers/{deleted}", headers=admin)).status_code == 204
    intruder = bearer(unique_tenant("intruder"))
    body = {"purpose": "email_marketing", "granted": False, "source": "admin"}

    for headers, owner in (
        (admin, str(uuid.uuid4())),
        (admin, deleted),
        (intruder, customer_id),
    ):
        base = f"/api/v1/customers/{owner}/consents"
        answers = [
            await client.get(base, headers=headers),
            await client.get(f"{base}/history", headers=headers),
            await client.post(base, json=body, headers=headers),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404]
    assert await accepts_marketing(client, admin, customer_id) is True


async def test_recording_a_consent_needs_the_write_scope(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    response = await client.post(
        f"/api/v1/customers/{customer_id}/consents",
        json={"purpose": "email_marketing", "granted": True, "source": "admin"},
        headers=bearer(tenant, "analyst"),
    )
    assert response.status_code == 403


async def test_the_database_keeps_the_history_append_only(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await consent(
        client,
        admin,
        customer_id,
        purpose="email_marketing",
        granted=True,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
    )
    mine = consent_entries.c.customer_id == uuid.UUID(customer_id)

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        with pytest.raises(DBAPIError, match="append-only"):
            await uow.session.execute(update(consent_entries).where(mine).values(granted=False))

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            update(consent_entries).where(mine).values(ip_address=None, user_agent=None)
        )
        await uow.commit()
    entry = (await history(client, admin, customer_id))["data"][0]
    assert (entry["granted"], entry["ip_address"], entry["user_agent"]) == (True, None, None)
