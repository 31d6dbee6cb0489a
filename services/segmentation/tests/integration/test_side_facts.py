"""Facts from addresses, loyalty tiers and notifications, on a real database."""

from __future__ import annotations

import uuid

import httpx
import pytest

from patron_shared.events import (
    AddressChanged,
    AddressSnapshot,
    Contract,
    NotificationDelivered,
    NotificationSent,
    TierChanged,
    build_envelope,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, deliver_record

from .test_segments_api import customer

pytestmark = pytest.mark.integration


async def deliver(runtime: ServiceRuntime, tenant: str, event: Contract) -> None:
    assert await deliver_record(runtime, build_envelope(event, tenant_id=tenant, source="t")) == (
        "processed"
    )


async def count(client: httpx.AsyncClient, tenant: str, rule: str) -> int:
    response = await client.post(
        "/api/v1/segments/preview", json={"rule": rule}, headers=bearer_headers(tenant, "analyst")
    )
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


async def test_the_default_address_tier_and_messages_become_facts_rules_can_use(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    shopper = await customer(runtime, tenant, tags=[], spent=["10"])
    billing, shipping = uuid.uuid4(), uuid.uuid4()
    for address_id, kind, city, country in (
        (billing, "billing", "Mumbai", "in"),
        (shipping, "shipping", "Pune", "in"),
    ):
        address = AddressSnapshot(
            type=kind, is_default=True, city=city, state="MH", country=country
        )  # type: ignore[arg-type]
        await deliver(
            runtime,
            tenant,
            AddressChanged(
                customer_id=shopper, address_id=address_id, change="created", address=address
            ),
        )
    await deliver(
        runtime,
        tenant,
        TierChanged(customer_id=shopper, tier="Gold", direction="upgrade", changed_at=utcnow()),
    )  # type: ignore[arg-type]
    notification = uuid.uuid4()
    common = {
        "customer_id": shopper,
        "notification_id": notification,
        "channel": "email",
        "template": "welcome",
        "category": "marketing",
    }
    await deliver(runtime, tenant, NotificationSent(**common, sent_at=utcnow()))  # type: ignore[arg-type]
    for status in ("delivered", "opened", "clicked"):
        await deliver(
            runtime, tenant, NotificationDelivered(**common, status=status, delivered_at=utcnow())
        )  # type: ignore[arg-type]

    assert await count(client, tenant, "city = 'Pune' AND country = 'IN' AND state = 'MH'") == 1
    assert await count(client, tenant, "loyalty_tier = 'Gold'") == 1
    assert await count(client, tenant, "messages_sent = 1 AND messages_opened = 1") == 1

    await deliver(
        runtime, tenant, AddressChanged(customer_id=shopper, address_id=shipping, change="deleted")
    )
    assert await count(client, tenant, "city = 'Mumbai'") == 1
