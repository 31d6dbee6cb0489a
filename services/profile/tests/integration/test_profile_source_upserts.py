"""UpsertCustomerFromSource through real Kafka and PostgreSQL: create, add, dead-letter."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from patron_profile.settings import ProfileSettings
from patron_shared.events import ReleaseExternalId, Topic, UpsertCustomerFromSource
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe

from .bus import emitted, eventually, new_customer, publish

pytestmark = pytest.mark.integration


def upsert(customer_id: str | uuid.UUID, **values: Any) -> UpsertCustomerFromSource:
    return UpsertCustomerFromSource(
        customer_id=uuid.UUID(str(customer_id)), source="shopify", **values
    )


async def customer_when(
    client: httpx.AsyncClient, admin: dict[str, str], customer_id: str, until: Any
) -> httpx.Response:
    async def read() -> httpx.Response:
        return await client.get(f"/api/v1/customers/{customer_id}?include=addresses", headers=admin)

    return await eventually(read, until)


async def test_an_upsert_for_an_unknown_id_creates_that_customer_with_its_address(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    customer_id = str(uuid.uuid4())
    await publish(
        probe,
        tenant,
        upsert(
            customer_id,
            external_id="S-1001",
            email="Maya@Example.com",
            first_name="Maya",
            tags=["Shopify Buyer"],
            address={"address1": "12 MG Road", "city": "Pune", "country": "in"},
        ),
    )

    response = await customer_when(client, admin, customer_id, lambda r: r.status_code == 200)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["email"], body["source"]) == (
        customer_id,
        "maya@example.com",
        "shopify",
    )
    assert body["external_ids"] == {"shopify": "S-1001"}
    assert body["tags"] == ["shopify buyer"]
    [address] = body["addresses"]
    assert (address["type"], address["is_default"], address["country"]) == ("shipping", True, "IN")
    events = await emitted(runtime, tenant, customer_id)
    assert [e["type"] for e in events] == ["CustomerCreated", "AddressChanged"]
    assert events[1]["data"]["address"]["address1"] == "12 MG Road"


async def test_an_upsert_for_a_known_customer_fills_gaps_and_overwrites_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    customer_id = await new_customer(client, admin, first_name="Jane", tags=["vip"])
    await publish(
        probe,
        tenant,
        upsert(customer_id, external_id="S-7", first_name="Janet", last_name="Doe", tags=["web"]),
    )

    response = await customer_when(
        client, admin, customer_id, lambda r: r.json().get("last_name") == "Doe"
    )

    body = response.json()
    assert (body["first_name"], body["last_name"]) == ("Jane", "Doe")
    assert body["tags"] == ["vip", "web"]
    assert body["external_ids"] == {"shopify": "S-7"}
    [updated] = await emitted(runtime, tenant, customer_id, "CustomerUpdated")
    assert sorted(updated["data"]["changed_fields"]) == ["external_ids", "last_name", "tags"]


async def test_a_malformed_email_is_skipped_and_a_command_with_nothing_usable_is_dead_lettered(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    service_settings: ProfileSettings,
) -> None:
    since = await probe.end_offsets(Topic.CUSTOMER_COMMANDS.dlq)
    hopeless = str(uuid.uuid4())
    await publish(probe, tenant, upsert(hopeless, email="not-an-email"))
    partly_bad = str(uuid.uuid4())
    await publish(probe, tenant, upsert(partly_bad, email="nope@", phone="+14155550132"))

    response = await customer_when(client, admin, partly_bad, lambda r: r.status_code == 200)

    assert response.status_code == 200, response.text
    assert (response.json()["email"], response.json()["phone"]) == (None, "+14155550132")
    group = service_settings.consumer_group_prefix + "profile.customer-commands"

    def ours(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records
            if r.key == hopeless.encode()
            and dict(r.headers).get("x-dlq-consumer-group") == group.encode()
        ]

    dead = await probe.collect(
        Topic.CUSTOMER_COMMANDS.dlq, since, until=lambda rs: len(ours(rs)) >= 1
    )
    [record] = ours(dead)
    assert json.loads(record.value)["data"]["email"] == "not-an-email"
    missing = await client.get(f"/api/v1/customers/{hopeless}", headers=admin)
    assert missing.status_code == 404


async def test_a_released_source_id_is_taken_off_the_customer_in_order_after_its_upsert(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    customer_id = str(uuid.uuid4())
    # one key, one partition: the release is applied after the upsert that brought the id
    await publish(
        probe, tenant, upsert(customer_id, external_id="S-2002", email="ravi@example.com")
    )
    await publish(
        probe,
        tenant,
        ReleaseExternalId(
            customer_id=uuid.UUID(customer_id), source="shopify", external_id="S-2002"
        ),
    )

    response = await customer_when(
        client,
        admin,
        customer_id,
        lambda r: r.status_code == 200 and r.json()["external_ids"] == {},
    )

    assert response.json()["external_ids"] == {}
    assert response.json()["email"] == "ravi@example.com"
    events = await emitted(runtime, tenant, customer_id)
    assert [e["type"] for e in events] == ["CustomerCreated", "CustomerUpdated"]
    assert events[1]["data"]["changed_fields"] == ["external_ids"]
