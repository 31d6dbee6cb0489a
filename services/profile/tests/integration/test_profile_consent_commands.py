"""`RecordConsent` (a consent collected by notifications: an unsubscribe link, its preference
centre) on a real database and a real broker: recorded as the consent API records one,
idempotent, and ignored for a customer the profile does not have."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.consents import record_requested_consent
from patron_shared.events import RecordConsent
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe

from .bus import eventually, new_customer, publish

pytestmark = pytest.mark.integration


def unsubscribed(customer_id: str | uuid.UUID, **values: Any) -> RecordConsent:
    fields: dict[str, Any] = {
        "purpose": "email_marketing",
        "granted": False,
        "occurred_at": datetime.now(UTC),
        "source": "unsubscribe_link",
    }
    return RecordConsent(customer_id=uuid.UUID(str(customer_id)), **(fields | values))


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


async def consents(
    client: httpx.AsyncClient, admin: dict[str, str], customer_id: str
) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/api/v1/customers/{customer_id}/consents", headers=admin)
    assert response.status_code == 200, response.text
    return {consent["purpose"]: consent for consent in response.json()["data"]}


async def test_an_unsubscribe_from_notifications_revokes_the_consent_and_accepts_marketing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    customer_id = await new_customer(client, admin, accepts_marketing=True)
    assert (await consents(client, admin, customer_id))["email_marketing"]["granted"] is True

    envelope = await publish(probe, tenant, unsubscribed(customer_id))

    async def read() -> httpx.Response:
        return await client.get(f"/api/v1/customers/{customer_id}", headers=admin)

    customer = await eventually(read, lambda r: r.json()["accepts_marketing"] is False)
    assert customer.json()["accepts_marketing"] is False
    current = (await consents(client, admin, customer_id))["email_marketing"]
    assert (current["granted"], current["source"]) == (False, "unsubscribe_link")
    assert current["recorded_by"] == f"message:{envelope.id}"
    events = await outbox_events(runtime, tenant, customer_id)
    revoked = [data for kind, data in events if kind == "ConsentChanged"][-1]
    assert (revoked["channel"], revoked["purpose"], revoked["granted"], revoked["source"]) == (
        "email",
        "marketing",
        False,
        "unsubscribe_link",
    )
    assert [kind for kind, _ in events][-2:] == ["ConsentChanged", "CustomerUpdated"]


async def test_the_same_choice_again_flips_nothing_and_announces_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, runtime: ServiceRuntime
) -> None:
    customer_id = await new_customer(client, admin)

    def uow() -> ProfileUnitOfWork:
        return runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant)

    granted = unsubscribed(
        customer_id, purpose="sms_marketing", granted=True, source="preference_centre"
    )
    first = await record_requested_consent(uow(), granted)
    again = await record_requested_consent(uow(), granted)

    assert first is not None
    assert first.changed is True
    assert again is not None
    assert again.changed is False
    assert (await consents(client, admin, customer_id))["sms_marketing"]["granted"] is True
    events = await outbox_events(runtime, tenant, customer_id)
    changes = [data for kind, data in events if kind == "ConsentChanged"]
    assert [(d["channel"], d["granted"], d["source"]) for d in changes] == [
        ("sms", True, "preference_centre")
    ]


async def test_a_choice_stamped_ahead_of_the_profiles_clock_is_recorded_as_of_now(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, runtime: ServiceRuntime
) -> None:
    customer_id = await new_customer(client, admin, accepts_marketing=True)
    ahead = datetime.now(UTC) + timedelta(minutes=5)

    decision = await record_requested_consent(
        runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant),
        unsubscribed(customer_id, occurred_at=ahead),
    )

    assert decision is not None
    assert decision.current.granted is False
    assert decision.current.occurred_at < ahead


async def test_a_consent_for_a_customer_the_profile_does_not_have_is_ignored(
    tenant: str, runtime: ServiceRuntime
) -> None:
    missing = uuid.uuid4()

    decision = await record_requested_consent(
        runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant), unsubscribed(missing)
    )

    assert decision is None
    assert await outbox_events(runtime, tenant, str(missing)) == []
