"""Source webhooks on a real database and broker, signed the way each source signs them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_identity.adapters.tables import identifiers, messaging, source_deliveries
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_shared.events import Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import OutboxRelay, create_producer
from patron_shared.testing import KafkaProbe

from ..unit.test_sources_shopify import shopify_customer  # noqa: TID252 - the unit tests' payloads, in each source's format
from ..unit.test_sources_whatsapp import (  # noqa: TID252 - the unit tests' payloads
    change_value,
    contact,
    notification,
    text_message,
)
from ..unit.test_sources_woocommerce import woocommerce_customer  # noqa: TID252 - the unit tests' payloads, in each source's format
from ..unit.webhooks import base64_signature, encode, hub_signature  # noqa: TID252 - the unit tests' payloads, in each source's format

pytestmark = pytest.mark.integration

CONNECTORS = "/api/v1/identity/connectors"


async def register(
    client: httpx.AsyncClient, admin: dict[str, str], source: str, account: str
) -> dict[str, Any]:
    response = await client.post(
        CONNECTORS, json={"source": source, "account": account}, headers=admin
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    created["path"] = f"/api/v1/identity/webhooks/{created['id']}"
    return created


async def shop(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    return await register(client, admin, "shopify", f"s-{uuid.uuid4().hex[:8]}.myshopify.com")


async def post_shopify(
    client: httpx.AsyncClient,
    connector: dict[str, Any],
    customer: dict[str, Any],
    *,
    topic: str = "customers/create",
    webhook_id: str | None = None,
    secret: str | None = None,
) -> httpx.Response:
    body = encode(customer)
    return await client.post(
        connector["path"],
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64_signature(secret or connector["secret"], body),
            "X-Shopify-Shop-Domain": connector["account"],
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        },
    )


def customer_of_shop(**overrides: Any) -> dict[str, Any]:
    """Shopify's sample customer with ids and contacts no other test uses."""
    number = uuid.uuid4().int % 10**15 + 1
    return shopify_customer(id=number, email=f"bob-{number}@biller.com", phone=None) | overrides


async def upserts(
    runtime: ServiceRuntime, tenant: str, message_type: str = "UpsertCustomerFromSource"
) -> list[dict[str, Any]]:
    """The data of the commands of `message_type` the tenant's deliveries left in the outbox."""
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.payload)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == message_type)
            .order_by(outbox.c.seq)
        )
        return [row.payload["data"] for row in rows]


async def stored(runtime: ServiceRuntime, tenant: str) -> dict[str, Any]:
    """What the tenant has: identifiers (kind, value) -> owner, and delivery count."""
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        owned = await uow.session.execute(
            select(identifiers.c.kind, identifiers.c.value, identifiers.c.customer_id)
        )
        deliveries = await uow.session.scalar(select(func.count()).select_from(source_deliveries))
    return {
        "identifiers": {(row.kind, row.value): str(row.customer_id) for row in owned},
        "deliveries": deliveries,
    }


async def test_a_signed_shopify_customer_becomes_a_customer_and_a_profile_command(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    connector = await shop(client, admin)
    customer = customer_of_shop(tags="VIP, wholesale")

    response = await post_shopify(client, connector, customer)

    assert response.status_code == 200, response.text
    body = response.json()
    [result] = body["customers"]
    assert (body["status"], result["created"], result["external_id"]) == (
        "processed",
        True,
        f"shopify:{customer['id']}",
    )
    [command] = await upserts(runtime, tenant)
    assert command == {
        "customer_id": result["customer_id"],
        "source": "shopify",
        "external_id": str(customer["id"]),
        "email": customer["email"],
        "phone": None,
        "first_name": "Bob",
        "last_name": "Biller",
        "accepts_marketing": True,
        "tags": ["VIP", "wholesale"],
        "date_of_birth": None,
        "address": {
            "address1": "151 O'Connor Street",
            "address2": "Suite 4",
            "city": "Ottawa",
            "state": "ON",
            "pincode": "K2P 2L8",
            "country": "CA",
        },
    }
    assert (await stored(runtime, tenant))["identifiers"] == {
        ("external_id", f"shopify:{customer['id']}"): result["customer_id"],
        ("email", customer["email"]): result["customer_id"],
    }


async def test_an_update_is_sent_on_as_well_and_a_replay_changes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    connector = await shop(client, admin)
    customer = customer_of_shop()
    created = (await post_shopify(client, connector, customer)).json()["customers"][0]

    update = customer | {"last_name": "Biller-Jones"}
    first = await post_shopify(
        client, connector, update, topic="customers/update", webhook_id="delivery-2"
    )
    before_replay = await stored(runtime, tenant)
    replay = await post_shopify(
        client, connector, update, topic="customers/update", webhook_id="delivery-2"
    )

    [updated] = first.json()["customers"]
    assert (updated["customer_id"], updated["created"], updated["matched_by"]) == (
        created["customer_id"],
        False,
        "external_id",
    )
    assert replay.status_code == 200
    assert replay.json() == first.json() | {"status": "replayed"}
    commands = await upserts(runtime, tenant)
    assert [c["last_name"] for c in commands] == ["Biller", "Biller-Jones"]
    assert await stored(runtime, tenant) == before_replay


async def test_a_deleted_shopify_customer_gives_up_only_its_shopify_id(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    connector = await shop(client, admin)
    customer = customer_of_shop()
    created = (await post_shopify(client, connector, customer)).json()["customers"][0]

    deleted = await post_shopify(
        client, connector, {"id": customer["id"]}, topic="customers/delete"
    )

    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["customers"][0]["customer_id"] == created["customer_id"]
    assert (await stored(runtime, tenant))["identifiers"] == {
        ("email", customer["email"]): created["customer_id"]
    }
    assert len(await upserts(runtime, tenant)) == 1
    [release] = await upserts(runtime, tenant, "ReleaseExternalId")
    assert release == {
        "customer_id": created["customer_id"],
        "source": "shopify",
        "external_id": str(customer["id"]),
    }


@pytest.mark.parametrize(
    "signed_with",
    [
        pytest.param("another-secret-entirely", id="wrong secret"),
        pytest.param("", id="missing signature"),
    ],
)
async def test_a_badly_signed_delivery_is_a_401_problem_and_stores_nothing(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    admin: dict[str, str],
    signed_with: str,
) -> None:
    connector = await shop(client, admin)
    body = encode(customer_of_shop())
    headers = {"X-Shopify-Topic": "customers/create", "X-Shopify-Webhook-Id": "w-1"}
    if signed_with:
        headers["X-Shopify-Hmac-Sha256"] = base64_signature(signed_with, body)

    response = await client.post(connector["path"], content=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Shopify-Hmac-Sha256" in response.json()["detail"]
    assert await upserts(runtime, tenant) == []
    assert await stored(runtime, tenant) == {"identifiers": {}, "deliveries": 0}


@pytest.mark.parametrize(
    ("customer", "topic", "field"),
    [
        ({"id": "abc", "email": "x@example.com"}, "customers/create", "id"),
        ({"id": 5, "default_address": "Ottawa"}, "customers/update", "default_address"),
        ({"id": 5}, "orders/create", "topic"),
    ],
)
async def test_a_malformed_signed_delivery_is_a_422_naming_the_field_and_stores_nothing(
    *,
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    admin: dict[str, str],
    customer: dict[str, Any],
    topic: str,
    field: str,
) -> None:
    connector = await shop(client, admin)

    response = await post_shopify(client, connector, customer, topic=topic)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await upserts(runtime, tenant) == []
    assert await stored(runtime, tenant) == {"identifiers": {}, "deliveries": 0}


async def test_unknown_and_disabled_connectors_refuse_deliveries(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    connector = await shop(client, admin)
    await client.delete(f"{CONNECTORS}/{connector['id']}", headers=admin)

    unknown = await post_shopify(
        client, connector | {"path": f"/api/v1/identity/webhooks/{uuid.uuid4()}"}, {"id": 1}
    )
    disabled = await post_shopify(client, connector, customer_of_shop())

    assert unknown.status_code == 404
    assert disabled.status_code == 410


async def test_woocommerce_pings_unsigned_then_delivers_signed_customers(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    connector = await register(client, admin, "woocommerce", "https://shop.example.com/")
    number = uuid.uuid4().int % 10**9 + 1
    body = encode(woocommerce_customer(id=number, email=f"john-{number}@example.com"))

    ping = await client.post(
        connector["path"],
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    delivered = await client.post(
        connector["path"],
        content=body,
        headers={
            "X-WC-Webhook-Topic": "customer.created",
            "X-WC-Webhook-Signature": base64_signature(connector["secret"], body),
            "X-WC-Webhook-Delivery-ID": "9001",
        },
    )

    assert (ping.status_code, ping.json()["status"]) == (200, "ping")
    assert delivered.status_code == 200, delivered.text
    [command] = await upserts(runtime, tenant)
    assert (command["external_id"], command["email"], command["address"]["pincode"]) == (
        str(number),
        f"john-{number}@example.com",
        "94103",
    )


async def test_whatsapp_verifies_its_subscription_then_delivers_signed_messages(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    connector = await register(client, admin, "whatsapp", "106540352242922")
    wa_id = f"9198765{uuid.uuid4().int % 10**5:05d}"
    body = encode(
        notification(
            change_value(
                [contact("Amara Okafor", wa_id)],
                [text_message(wa_id, f"wamid.{uuid.uuid4().hex}", 1700000000)],
            )
        )
    )
    challenge = {
        "hub.mode": "subscribe",
        "hub.verify_token": connector["verify_token"],
        "hub.challenge": "1158201444",
    }

    verified = await client.get(connector["path"], params=challenge)
    refused = await client.get(connector["path"], params=challenge | {"hub.verify_token": "no"})
    delivered = await client.post(
        connector["path"],
        content=body,
        headers={"X-Hub-Signature-256": hub_signature(connector["secret"], body)},
    )

    assert (verified.status_code, verified.text) == (200, "1158201444")
    assert verified.headers["content-type"].startswith("text/plain")
    assert refused.status_code == 403
    assert delivered.status_code == 200, delivered.text
    [command] = await upserts(runtime, tenant)
    assert (command["external_id"], command["phone"], command["first_name"]) == (
        wa_id,
        f"+{wa_id}",
        "Amara",
    )


async def test_the_profile_command_reaches_the_commands_topic_keyed_by_customer(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    admin: dict[str, str],
    kafka_bootstrap: str,
) -> None:
    connector = await shop(client, admin)
    probe = KafkaProbe(kafka_bootstrap)
    await probe.start()
    producer = create_producer(kafka_bootstrap, client_id="identity-relay-test")
    await producer.start()
    try:
        since = await probe.end_offsets(Topic.CUSTOMER_COMMANDS)
        response = await post_shopify(client, connector, customer_of_shop())
        customer_id = response.json()["customers"][0]["customer_id"]
        relay = OutboxRelay(runtime.engine, messaging, producer, batch_size=1000)
        while await relay.publish_pending_batch():
            pass
        records = await probe.collect(
            Topic.CUSTOMER_COMMANDS,
            since,
            until=lambda found: any(r.key == customer_id.encode() for r in found),
        )
    finally:
        await producer.stop()
        await probe.stop()

    [envelope] = [json.loads(r.value) for r in records if r.key == customer_id.encode()]
    assert (envelope["type"], envelope["tenant_id"], envelope["subject"]) == (
        "UpsertCustomerFromSource",
        tenant,
        customer_id,
    )
    assert envelope["data"]["source"] == "shopify"
