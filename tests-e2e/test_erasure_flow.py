"""Across the running stack: a customer with orders (Kafka), points, a note, a consent and a
welcome email is anonymized (GDPR) -> every service acknowledges, and no table of any service
database (outbox and inbox included) holds the customer's email, phone or name any more,
while the order amounts stay for accounting."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from patron_shared.testing import KafkaProbe, find_values

from .journeys import known_everywhere, publish_paid_order
from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e
DATABASES = (
    "patron_profile",
    "patron_identity",
    "patron_segmentation",
    "patron_loyalty",
    "patron_notifications",
)


def database_dsn(superuser_dsn: str, database: str) -> str:
    parts = urlsplit(superuser_dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def a_customer_known_everywhere(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, headers: dict[str, str]
) -> dict[str, Any]:
    marker = uuid.uuid4().hex[:10]
    person = {
        "email": f"erase-{marker}@e2e.example",
        "phone": f"+1415555{int(marker[:6], 16) % 10000:04d}",
        "first_name": f"Zelda{marker[:5]}",
        "last_name": f"Quist{marker[5:]}",
    }
    created = await gateway.post("/api/v1/customers", json=person, headers=headers)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    person["phone"] = created.json()["phone"]
    url = f"/api/v1/customers/{customer_id}"
    for path, body in (
        ("/notes", {"type": "general", "body": f"{person['first_name']} asked for a catalogue"}),
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
        ("/addresses", {"type": "shipping", "address1": f"{marker} Lane", "country": "US"}),
    ):
        response = await gateway.post(url + path, json=body, headers=headers)
        assert response.status_code == 201, response.text
    order_id = f"E2E-ERASE-{marker}"
    await publish_paid_order(probe, tenant, customer_id, order_id, "80.00")

    async def everywhere() -> bool | None:
        response = await gateway.get(f"{url}/export", headers=headers)
        if response.status_code >= 500:  # a service restarting: ask again
            return None
        assert response.status_code == 200, response.text
        return True if known_everywhere(response.json()) else None

    assert await eventually(everywhere), "every service knows the customer"
    return {"id": customer_id, "order_id": order_id, **person}


async def test_an_anonymized_customer_is_nowhere_in_any_service_database_but_its_amounts_stay(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any, stack: dict[str, str]
) -> None:
    headers = auth(tenant)
    customer = await a_customer_known_everywhere(gateway, probe, tenant, headers)
    values = [customer[key] for key in ("email", "phone", "first_name", "last_name")]

    erased = await gateway.delete(
        f"/api/v1/customers/{customer['id']}", params={"mode": "anonymize"}, headers=headers
    )
    assert erased.status_code == 202, erased.text
    status_url = erased.headers["location"]

    async def done() -> dict[str, Any] | None:
        response = await gateway.get(status_url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["status"] == "done" else None

    status = await eventually(done)
    assert status is not None, "every service acknowledges the erasure"
    assert status["erasure_id"] == erased.json()["erasure_id"]
    assert {s["service"] for s in status["services"]} >= {
        "profile",
        "identity",
        "segmentation",
        "loyalty.points",
        "loyalty.credit",
        "notifications",
    }

    superuser = stack["PATRON_PG_DSN"]
    leftovers = {
        database: await find_values(database_dsn(superuser, database), values)
        for database in DATABASES
    }
    assert leftovers == {database: [] for database in DATABASES}

    connection = await asyncpg.connect(database_dsn(superuser, "patron_profile"))
    try:
        total = await connection.fetchval(
            "SELECT total FROM orders WHERE tenant_id = $1 AND order_id = $2",
            tenant,
            customer["order_id"],
        )
    finally:
        await connection.close()
    assert total == Decimal("80.0000")

    async def read_back() -> int | None:
        response = await gateway.get(f"/api/v1/customers/{customer['id']}", headers=headers)
        return None if response.status_code >= 500 else response.status_code

    assert await eventually(read_back) == 404


async def test_erasure_needs_the_delete_scope(
    gateway: httpx.AsyncClient, tenant: str, auth: Any
) -> None:
    created = await gateway.post(
        "/api/v1/customers",
        json={"email": f"x-{uuid.uuid4().hex[:8]}@e2e.example"},
        headers=auth(tenant),
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/customers/{created.json()['id']}"

    support = await gateway.delete(path, params={"mode": "hard"}, headers=auth(tenant, "support"))

    assert support.status_code == 403, support.text
