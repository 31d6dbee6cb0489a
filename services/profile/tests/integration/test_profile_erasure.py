"""GDPR erasure in the profile: its own tables and outbox, the request's answer, the status
that follows the other services' acknowledgements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from patron_profile.domain.erasure import ERASURE_PARTICIPANTS, PROFILE_PARTICIPANT
from patron_shared.events import (
    ErasureAcknowledged,
    OrderPlaced,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, deliver_record, find_values
from patron_shared.testing.pii import plain_dsn


async def a_known_customer(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> dict[str, Any]:
    """A customer with an address, a note, metadata, a consent with its IP and an order."""
    marker = uuid.uuid4().hex[:10]
    person = {
        "email": f"erase-{marker}@example.com",
        "phone": f"+1415555{int(marker[:6], 16) % 10000:04d}",
        "first_name": f"Zelda{marker[:5]}",
        "last_name": f"Quist{marker[5:]}",
    }
    created = await client.post("/api/v1/customers", json=person, headers=admin)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    url = f"/api/v1/customers/{customer_id}"
    for path, body in (
        (
            "/addresses",
            {"type": "shipping", "address1": f"{marker} Erasure Lane", "country": "US"},
        ),
        ("/notes", {"type": "general", "body": f"called {person['first_name']} back"}),
        (
            "/consents",
            {
                "purpose": "email_marketing",
                "granted": True,
                "source": "checkout",
                "ip_address": "203.0.113.7",
                "user_agent": f"Agent {marker}",
            },
        ),
    ):
        response = await client.post(url + path, json=body, headers=admin)
        assert response.status_code == 201, response.text
    stored = await client.put(
        url + "/metadata/nickname",
        json={"value": person["first_name"], "module_source": "admin"},
        headers=admin,
    )
    assert stored.status_code in (200, 201), stored.text
    order = OrderPlaced(
        order_id=f"E-{marker}",
        customer_id=uuid.UUID(customer_id),
        currency="USD",
        total=Decimal("125.00"),
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    outcome = await deliver_record(
        runtime, build_envelope(order, tenant_id=tenant, source="orders-service")
    )
    assert outcome == "processed"
    return {"id": customer_id, "order_id": order.order_id, **person}


async def test_anonymizing_a_customer_leaves_no_personal_value_in_any_table_but_keeps_orders(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    tenant: str,
    service_database: ServiceDatabase,
) -> None:
    customer = await a_known_customer(client, admin, runtime, tenant)
    values = [customer[key] for key in ("email", "phone", "first_name", "last_name")]
    assert await find_values(service_database.owner_url, values)  # there before

    erased = await client.delete(
        f"/api/v1/customers/{customer['id']}", params={"mode": "anonymize"}, headers=admin
    )

    assert erased.status_code == 202, erased.text
    assert erased.headers["location"] == f"/api/v1/customers/{customer['id']}/erasure"
    assert erased.json()["mode"] == "anonymize"
    assert await find_values(service_database.owner_url, values) == []
    connection = await asyncpg.connect(plain_dsn(service_database.owner_url))
    try:
        total = await connection.fetchval(
            "SELECT total FROM orders WHERE tenant_id = $1 AND order_id = $2",
            tenant,
            customer["order_id"],
        )
        outbox_types = await connection.fetch(
            "SELECT message_type, payload FROM outbox WHERE tenant_id = $1 AND message_key = $2",
            tenant,
            customer["id"],
        )
    finally:
        await connection.close()
    assert total == Decimal("125.0000")
    erasures = [row for row in outbox_types if row["message_type"] == "CustomerErased"]
    assert len(erasures) == 1
    assert erased.json()["erasure_id"] in erasures[0]["payload"]


async def test_the_erasure_status_is_done_once_every_service_acknowledged(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    tenant: str,
) -> None:
    customer = await a_known_customer(client, admin, runtime, tenant)
    erased = await client.delete(
        f"/api/v1/customers/{customer['id']}", params={"mode": "hard"}, headers=admin
    )
    assert erased.status_code == 202, erased.text
    erasure_id = uuid.UUID(erased.json()["erasure_id"])
    status_url = erased.headers["location"]

    pending = (await client.get(status_url, headers=admin)).json()
    assert pending["status"] == "pending"
    assert {s["service"]: s["status"] for s in pending["services"]} == {
        name: "done" if name == PROFILE_PARTICIPANT else "pending" for name in ERASURE_PARTICIPANTS
    }
    others = [name for name in ERASURE_PARTICIPANTS if name != PROFILE_PARTICIPANT]
    for service in [*others, others[0]]:  # a repeated acknowledgement changes nothing
        ack = ErasureAcknowledged(
            customer_id=uuid.UUID(customer["id"]),
            erasure_id=erasure_id,
            service=service,
            mode="hard",
            completed_at=datetime.now(UTC),
        )
        envelope = build_envelope(ack, tenant_id=tenant, source=service)
        assert await deliver_record(runtime, envelope) == "processed"

    done = (await client.get(status_url, headers=admin)).json()
    assert done["status"] == "done"
    assert done["completed_at"] is not None
    assert all(s["status"] == "done" and s["completed_at"] for s in done["services"])
    gone = await client.get(f"/api/v1/customers/{customer['id']}", headers=admin)
    assert gone.status_code == 404
    again = await client.delete(
        f"/api/v1/customers/{customer['id']}", params={"mode": "hard"}, headers=admin
    )
    assert again.status_code == 202
    assert again.json()["erasure_id"] == str(erasure_id)


async def test_erasure_asks_for_a_known_mode_and_a_known_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    unknown = f"/api/v1/customers/{uuid.uuid4()}"
    bad_mode = await client.delete(unknown, params={"mode": "shred"}, headers=admin)
    assert bad_mode.status_code == 422
    assert bad_mode.headers["content-type"].startswith("application/problem+json")
    assert "mode" in bad_mode.text
    missing = await client.delete(unknown, params={"mode": "hard"}, headers=admin)
    assert missing.status_code == 404
    no_erasure = await client.get(unknown + "/erasure", headers=admin)
    assert no_erasure.status_code == 404


async def test_without_mode_delete_stays_a_soft_delete(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/customers", json={"email": f"{uuid.uuid4().hex}@example.com"}, headers=admin
    )
    deleted = await client.delete(f"/api/v1/customers/{created.json()['id']}", headers=admin)
    assert deleted.status_code == 204
