"""Demo data: a few customers through the gateway and their orders on the order topic.

Safe to run again: customers are found by email, order events have stable ids (the
consumers' inbox ignores a repeat) and stable order ids.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
from aiokafka import AIOKafkaProducer

from patron_shared.events import (
    OrderItem,
    OrderPaid,
    OrderPlaced,
    Topic,
    build_envelope,
    utcnow,
)

DEMO_TENANT = "demo"
_NAMESPACE = uuid.UUID("6f1d8c2e-3b7a-4e59-9c1d-2a8f5e0b7c31")
CUSTOMERS = [
    ("ava.patel@example.com", "+14155550101", "Ava", "Patel", ["vip"], True, "shopify"),
    ("liam.chen@example.com", "+14155550102", "Liam", "Chen", [], True, "shopify"),
    ("sofia.garcia@example.com", None, "Sofia", "Garcia", ["wholesale"], False, "woocommerce"),
    ("noah.kim@example.com", "+14155550104", "Noah", "Kim", [], False, "shopify"),
    ("mia.rossi@example.com", None, "Mia", "Rossi", ["gift"], True, "woocommerce"),
    (None, "+919876543210", "Arjun", "Mehta", ["whatsapp"], False, "whatsapp"),
]
CATALOGUE = [
    ("TS-BLUE-M", "Blue T-Shirt", "Clothing", Decimal("25.00")),
    ("MUG-LOGO", "Logo Mug", "Home", Decimal("12.50")),
    ("HD-GREY-L", "Grey Hoodie", "Clothing", Decimal("55.00")),
]


def seed(gateway_url: str, token: str, kafka_bootstrap: str) -> tuple[int, int]:
    """Returns (customers, orders) the demo tenant has from this seed."""
    customer_ids = _ensure_customers(gateway_url, token)
    orders = asyncio.run(_publish_orders(kafka_bootstrap, customer_ids))
    return len(customer_ids), orders


def _ensure_customers(gateway_url: str, token: str) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=gateway_url, headers=headers, timeout=10) as client:
        for email, phone, first, last, tags, marketing, source in CUSTOMERS:
            body = {
                "email": email,
                "phone": phone,
                "first_name": first,
                "last_name": last,
                "tags": tags,
                "accepts_marketing": marketing,
                "source": source,
            }
            response = client.post("/api/v1/customers", json=body)
            if response.status_code == 409 and email:
                found = client.get("/api/v1/customers", params={"email": email}).json()["data"]
                ids.append(uuid.UUID(found[0]["id"]))
                continue
            if response.status_code == 409:
                continue
            response.raise_for_status()
            ids.append(uuid.UUID(response.json()["id"]))
    return ids


async def _publish_orders(kafka_bootstrap: str, customer_ids: list[uuid.UUID]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    count = 0
    now = utcnow()
    try:
        for index, customer_id in enumerate(customer_ids):
            for n in range(index % 4 + 1):
                sku, name, category, price = CATALOGUE[(index + n) % len(CATALOGUE)]
                quantity = n % 3 + 1
                order_id = f"DEMO-{index + 1:02d}-{n + 1}"
                order = OrderPlaced(
                    order_id=order_id,
                    customer_id=customer_id,
                    currency="USD",
                    total=price * quantity,
                    items=[
                        OrderItem(
                            sku=sku,
                            name=name,
                            category=category,
                            quantity=quantity,
                            unit_price=price,
                        )
                    ],
                    placed_at=now - timedelta(days=30 * (n + index)),
                    channel="web",
                )
                # paid as well: the loyalty program earns points on payment
                payment = OrderPaid(
                    order_id=order_id,
                    customer_id=customer_id,
                    amount=order.total,
                    currency="USD",
                    paid_at=order.placed_at,
                )
                for event, suffix in ((order, ""), (payment, ":paid")):
                    envelope = build_envelope(
                        event,
                        tenant_id=DEMO_TENANT,
                        source="demo-orders",
                        # the same ids every run: the consumers' inboxes take each once
                        message_id=uuid.uuid5(_NAMESPACE, f"{customer_id}:{order_id}{suffix}"),
                    )
                    await producer.send_and_wait(
                        Topic.ORDER_EVENTS.value,
                        envelope.to_json_bytes(),
                        key=str(customer_id).encode(),
                        headers=[("content-type", b"application/cloudevents+json")],
                    )
                    count += 1
    finally:
        await producer.stop()
    return count


# Development connectors of tenant `demo`: one per source, their secrets derived from the
# stack's JWT secret so that every `stack up` finds (or sets) the same ones.
CONNECTORS_PATH = "/api/v1/identity/connectors"
DEV_CONNECTORS = (
    ("shopify", "patron-demo.myshopify.com"),
    ("woocommerce", "https://woocommerce.patron-demo.test"),
    ("whatsapp", "100000000000001"),
    ("generic", "demo-pos"),
)


def dev_credential(jwt_secret: str, source: str, purpose: str = "secret") -> str:
    """A stable development credential for `source`, never a production one."""
    digest = hmac.new(jwt_secret.encode(), f"patron-dev-{purpose}:{source}".encode(), "sha256")
    return digest.hexdigest()[:40]


def ensure_dev_connectors(
    gateway_url: str,
    token: str,
    jwt_secret: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, str]:
    """Register tenant `demo`'s development connectors (or reuse them); returns the
    `.stack/env` lines: each source's webhook URL on the gateway and its secret."""
    env: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(
        base_url=gateway_url, headers=headers, timeout=10, transport=transport
    ) as client:
        existing = _active_connectors(client)
        for source, account in DEV_CONNECTORS:
            secret = dev_credential(jwt_secret, source)
            wanted: dict[str, str] = {"secret": secret}
            if source == "whatsapp":
                wanted["verify_token"] = dev_credential(jwt_secret, source, "verify-token")
            found = existing.get((source, account))
            if found is None:
                response = client.post(
                    CONNECTORS_PATH,
                    json={"source": source, "account": account, "name": "development"} | wanted,
                )
                response.raise_for_status()
                connector_id = response.json()["id"]
            else:
                connector_id = found["id"]
                if found["secret_hint"] != "…" + secret[-4:]:
                    # Someone rotated it: set the development credentials again.
                    client.post(
                        f"{CONNECTORS_PATH}/{connector_id}/rotate-secret", json=wanted
                    ).raise_for_status()
            prefix = f"PATRON_{source.upper()}"
            env[f"{prefix}_WEBHOOK_URL"] = f"{gateway_url}/api/v1/identity/webhooks/{connector_id}"
            env[f"{prefix}_SECRET"] = secret
            if "verify_token" in wanted:
                env[f"{prefix}_VERIFY_TOKEN"] = wanted["verify_token"]
    return env


def _active_connectors(client: httpx.Client) -> dict[tuple[str, str], dict[str, str]]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    params: dict[str, str | int] = {"per_page": 100}
    while True:
        response = client.get(CONNECTORS_PATH, params=params)
        response.raise_for_status()
        page = response.json()
        for connector in page["data"]:
            found[(connector["source"], connector["account"])] = connector
        if not page["meta"]["next_cursor"]:
            return found
        params["cursor"] = page["meta"]["next_cursor"]
