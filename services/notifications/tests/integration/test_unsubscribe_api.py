"""`/api/v1/unsubscribe/{token}` through the app on a real database: one-click POST turns
marketing off here and tells the profile, GET changes nothing, bad tokens are refused, and
late events do not opt the customer back in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from patron_notifications.adapters.tables import contacts, messaging
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.messaging_settings import MessagingSettings
from patron_notifications.domain.unsubscribe import UnsubscribeTarget, unsubscribe_token
from patron_notifications.service.contacts import record_consent, record_contact
from patron_notifications.service.messages import MessageRequest, Messenger
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import ConsentChanged, CustomerCreated, CustomerSnapshot, CustomerUpdated
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


def snapshot(at: datetime, *, accepts_marketing: bool) -> CustomerSnapshot:
    return CustomerSnapshot(
        email="ann.lee@patron-tests.example",
        phone="+14155550123",
        first_name="Ann",
        accepts_marketing=accepts_marketing,
        created_at=JOINED,
        updated_at=at,
    )


async def subscribed_customer(
    runtime: ServiceRuntime, tenant: str, *, sms: bool = False
) -> uuid.UUID:
    """A customer opted in to email marketing (and SMS marketing when `sms`)."""
    customer_id = uuid.uuid4()
    created = CustomerCreated(
        customer_id=customer_id, customer=snapshot(JOINED, accepts_marketing=True)
    )
    await record_contact(runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), created)
    if sms:
        granted = ConsentChanged(
            customer_id=customer_id, channel="sms", granted=True, changed_at=JOINED
        )
        await record_consent(
            runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), granted
        )
    return customer_id


def link(
    settings: NotificationsSettings, tenant: str, customer_id: uuid.UUID, channel: Channel
) -> str:
    secret = settings.unsubscribe_secret.get_secret_value().encode()
    token = unsubscribe_token(secret, UnsubscribeTarget(tenant, customer_id, channel))
    return f"/api/v1/unsubscribe/{token}"


async def row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = select(contacts).where(contacts.c.customer_id == customer_id)
        return (await uow.session.execute(query)).one()


async def consent_commands(
    runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The `data` of the RecordConsent commands in the outbox about `customer_id`."""
    outbox = messaging.outbox
    query = (
        select(outbox.c.payload, outbox.c.topic)
        .where(
            outbox.c.tenant_id == tenant,
            outbox.c.message_key == str(customer_id),
            outbox.c.message_type == "RecordConsent",
        )
        .order_by(outbox.c.seq)
    )
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        found = (await uow.session.execute(query)).all()
    assert all(topic == "patron.customer.commands.v1" for _, topic in found)
    return [payload["data"] for payload, _ in found]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_a_one_click_post_turns_email_marketing_off_and_tells_the_profile(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant, sms=True)
    before = datetime.now(UTC)

    response = await client.post(
        link(service_settings, tenant, customer_id, "email"),
        content=b"List-Unsubscribe=One-Click",
        headers=ONE_CLICK,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "customer_id": str(customer_id),
        "channel": "email",
        "unsubscribed_from": "marketing",
        "changed": True,
    }
    stored = await row(runtime, tenant, customer_id)
    assert (stored.accepts_marketing, stored.sms_marketing) == (False, True)
    assert stored.email_consent_at >= before
    assert stored.preferences_updated_at == stored.email_consent_at
    [command] = await consent_commands(runtime, tenant, customer_id)
    assert command | {"occurred_at": None} == {
        "customer_id": str(customer_id),
        "purpose": "email_marketing",
        "granted": False,
        "occurred_at": None,
        "source": "unsubscribe_link",
    }
    assert datetime.fromisoformat(command["occurred_at"]) == stored.email_consent_at


async def test_an_empty_one_click_post_on_an_sms_link_turns_sms_marketing_off_only(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant, sms=True)

    response = await client.post(link(service_settings, tenant, customer_id, "sms"))

    assert response.status_code == 200, response.text
    assert response.json()["channel"] == "sms"
    stored = await row(runtime, tenant, customer_id)
    assert (stored.accepts_marketing, stored.sms_marketing) == (True, False)
    [command] = await consent_commands(runtime, tenant, customer_id)
    assert (command["purpose"], command["granted"]) == ("sms_marketing", False)


async def test_posting_again_keeps_the_customer_out_and_stamps_no_new_change(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant)
    url = link(service_settings, tenant, customer_id, "email")
    assert (await client.post(url, headers=ONE_CLICK)).json()["changed"] is True
    first = await row(runtime, tenant, customer_id)

    again = await client.post(url, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)

    assert again.status_code == 200
    assert again.json()["changed"] is False
    stored = await row(runtime, tenant, customer_id)
    assert stored.accepts_marketing is False
    assert stored.preferences_updated_at == first.preferences_updated_at
    # each click is recorded as the customer's choice; the profile flips nothing twice
    assert [c["granted"] for c in await consent_commands(runtime, tenant, customer_id)] == [
        False,
        False,
    ]


async def test_a_browser_post_gets_a_page_saying_it_is_done(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant)

    response = await client.post(
        link(service_settings, tenant, customer_id, "email"),
        content=b"List-Unsubscribe=One-Click",
        headers=ONE_CLICK | {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "You are unsubscribed" in response.text
    assert "marketing emails" in response.text
    assert (await row(runtime, tenant, customer_id)).accepts_marketing is False


async def test_a_get_shows_a_confirm_page_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant)
    url = link(service_settings, tenant, customer_id, "email")
    before = await row(runtime, tenant, customer_id)

    response = await client.get(url)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    page = response.text
    assert '<form method="post">' in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert "a***@patron-tests.example" in page
    assert "ann.lee@" not in page
    token = url.rsplit("/", 1)[1]
    assert f'href="../preferences/{token}"' in page
    assert await row(runtime, tenant, customer_id) == before
    assert await consent_commands(runtime, tenant, customer_id) == []


async def test_the_page_escapes_the_shop_name(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        shop = MessagingSettings(shop_name='<script>alert("x")</script> & Co')
        await uow.messaging_settings.save(shop, "tests")
        await uow.commit()
    customer_id = await subscribed_customer(runtime, tenant)

    response = await client.get(link(service_settings, tenant, customer_id, "email"))

    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in response.text


async def test_a_forged_token_is_forbidden_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant)
    other = NotificationsSettings(unsubscribe_secret="not-the-service-secret")
    forged = link(other, tenant, customer_id, "email")

    posted = await client.post(forged, headers=ONE_CLICK)
    fetched = await client.get(forged)

    problem(posted, 403)
    problem(fetched, 403)
    assert (await row(runtime, tenant, customer_id)).accepts_marketing is True
    assert await consent_commands(runtime, tenant, customer_id) == []


@pytest.mark.parametrize("token", ["not-a-token", "dTE.AAAA", "a.b.c"])
async def test_a_malformed_token_is_422_naming_the_token(
    client: httpx.AsyncClient, token: str
) -> None:
    body = problem(await client.post(f"/api/v1/unsubscribe/{token}"), 422)

    assert body["errors"][0]["field"] == "token"


async def test_a_list_unsubscribe_field_other_than_one_click_is_422_naming_it(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant)

    response = await client.post(
        link(service_settings, tenant, customer_id, "email"),
        content=b"List-Unsubscribe=Maybe",
        headers=ONE_CLICK,
    )

    assert problem(response, 422)["errors"][0]["field"] == "List-Unsubscribe"
    assert (await row(runtime, tenant, customer_id)).accepts_marketing is True


async def test_late_events_from_before_the_click_do_not_opt_the_customer_back_in(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant, sms=True)
    for channel in ("email", "sms"):
        url = link(service_settings, tenant, customer_id, channel)
        assert (await client.post(url)).status_code == 200
    clicked = (await row(runtime, tenant, customer_id)).email_consent_at
    earlier = clicked - timedelta(seconds=1)

    def uow() -> NotificationsUnitOfWork:
        return runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant)

    # a snapshot and consent grants the profile emitted before it saw the click
    stale = CustomerUpdated(
        customer_id=customer_id,
        changed_fields=["first_name"],
        customer=snapshot(earlier, accepts_marketing=True),
    )
    await record_contact(uow(), stale)
    for channel in ("email", "sms"):
        grant = ConsentChanged(
            customer_id=customer_id, channel=channel, granted=True, changed_at=earlier
        )
        await record_consent(uow(), grant)
    # and the profile's own echo of the click
    echo = ConsentChanged(
        customer_id=customer_id,
        channel="email",
        granted=False,
        changed_at=clicked,
        source="unsubscribe_link",
    )
    await record_consent(uow(), echo)

    stored = await row(runtime, tenant, customer_id)
    assert (stored.accepts_marketing, stored.sms_marketing) == (False, False)
    assert stored.first_name == "Ann"

    # a later opt-in (the customer subscribed again) still counts
    later = ConsentChanged(
        customer_id=customer_id,
        channel="email",
        granted=True,
        changed_at=clicked + timedelta(seconds=1),
    )
    await record_consent(uow(), later)
    assert (await row(runtime, tenant, customer_id)).accepts_marketing is True


async def test_after_the_click_marketing_is_skipped_and_order_messages_still_go(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await subscribed_customer(runtime, tenant)
    assert (await client.post(link(service_settings, tenant, customer_id, "email"))).is_success
    messenger = Messenger(service_settings.messaging_defaults(), service_settings.unsubscribe_url)
    cause = f"unsubscribe-test-{uuid.uuid4()}"

    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        queued = await messenger.queue(
            uow,
            [
                MessageRequest(customer_id, "welcome", "email", cause, category="marketing"),
                MessageRequest(
                    customer_id, "welcome", "email", cause + "-t", category="transactional"
                ),
            ],
        )
        await uow.commit()

    outcome = {d.category: (d.status, d.skipped_reason) for d in queued.deliveries}
    assert outcome == {
        "marketing": ("skipped", "no_marketing_consent"),
        "transactional": ("queued", None),
    }


async def test_the_link_of_a_merged_customer_unsubscribes_the_survivor(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    merged = await subscribed_customer(runtime, tenant)
    survivor = await subscribed_customer(runtime, tenant)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            update(contacts)
            .where(contacts.c.tenant_id == tenant, contacts.c.customer_id == merged)
            .values(merged_into=survivor)
        )
        await uow.commit()

    response = await client.post(link(service_settings, tenant, merged, "email"))

    assert response.json()["customer_id"] == str(survivor)
    assert (await row(runtime, tenant, survivor)).accepts_marketing is False
    [command] = await consent_commands(runtime, tenant, survivor)
    assert command["customer_id"] == str(survivor)
