"""The notifications part of a GDPR export: the contact, its preferences and the log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_notifications.adapters.campaign_tables import (
    campaign_customers,
    campaigns,
    segment_members,
)
from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.tables import contacts
from patron_shared.http import ServiceRuntime
from patron_shared.testing import unique_tenant
from patron_shared.testing.export import (
    assert_export_needs_the_export_scope,
    export_of,
    insert_row,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def test_the_export_holds_the_contact_and_every_message_sent(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id = uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        contacts,
        customer_id=customer_id,
        email="jane@example.com",
        accepts_marketing=True,
        email_unsubscribed=False,
        source_updated_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        deliveries,
        delivery_id=uuid.uuid4(),
        customer_id=customer_id,
        channel="email",
        category="transactional",
        template_key="welcome",
        idempotency_key=uuid.uuid4().hex,
        cause="test",
        recipient="jane@example.com",
        subject="Welcome",
        text_body="Hello Jane",
        status="sent",
        created_at=NOW,
        sent_at=NOW,
    )

    document = await export_of(client, tenant, customer_id)

    assert document["service"] == "notifications"
    data = document["data"]
    assert data["contact"]["email"] == "jane@example.com"
    assert data["contact"]["accepts_marketing"] is True
    assert [(d["template_key"], d["status"], d["text_body"]) for d in data["deliveries"]] == [
        ("welcome", "sent", "Hello Jane")
    ]
    assert "lease_until" not in data["deliveries"][0]


async def test_an_unknown_customer_exports_every_part_empty(client: httpx.AsyncClient) -> None:
    document = await export_of(client, unique_tenant(), uuid.uuid4())

    assert document["data"] == {
        "contact": None,
        "deliveries": [],
        "merges": [],
        "segment_memberships": [],
        "campaign_audiences": [],
    }


async def test_the_export_holds_segments_and_campaign_audiences_naming_the_customer(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id, campaign_id = uuid.uuid4(), uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        segment_members,
        segment_key="vip",
        customer_id=customer_id,
        member=True,
        changed_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        segment_members,
        segment_key="vip",
        customer_id=uuid.uuid4(),
        member=True,
        changed_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        campaigns,
        campaign_id=campaign_id,
        name="Spring",
        template_key="flash_sale",
        channel="email",
        category="marketing",
        audience_size=1,
        status="sent",
        scheduled_at=NOW,
        created_at=NOW,
    )
    await insert_row(
        runtime, tenant, campaign_customers, campaign_id=campaign_id, customer_id=customer_id
    )

    data = (await export_of(client, tenant, customer_id))["data"]

    assert [(m["segment_key"], m["member"]) for m in data["segment_memberships"]] == [("vip", True)]
    assert [a["campaign_id"] for a in data["campaign_audiences"]] == [str(campaign_id)]


async def test_the_export_needs_the_customers_export_scope(client: httpx.AsyncClient) -> None:
    await assert_export_needs_the_export_scope(client, unique_tenant())
