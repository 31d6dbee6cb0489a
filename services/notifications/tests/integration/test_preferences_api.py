"""The preference centre through the app on a real database: the back office's
`/api/v1/customers/{id}/preferences` and the customer's own `/api/v1/preferences/{token}`,
their 4xx problems, what reaches the profile, and what the messenger then sends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_notifications.adapters.tables import messaging
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.unsubscribe import UnsubscribeTarget, unsubscribe_token
from patron_notifications.service.contacts import record_contact
from patron_notifications.service.messages import MessageRequest, Messenger
from patron_notifications.settings import NotificationsSettings
from patron_shared.auth import Scope
from patron_shared.events import CustomerCreated, CustomerSnapshot
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ORDER: dict[str, Any] = {
    "order_id": "1001",
    "order_number": "#1001",
    "total": "25.00",
    "subtotal": "25.00",
    "shipping_total": "0.00",
    "currency": "USD",
    "placed_at": "2026-03-02T10:00:00Z",
    "lines": [],
    "status": "placed",
    "carrier": None,
    "tracking_number": None,
    "tracking_url": None,
}


async def customer(runtime: ServiceRuntime, tenant: str, *, marketing: bool = True) -> uuid.UUID:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(
        email="ravi.k@patron-tests.example",
        phone="+14155550199",
        first_name="Ravi",
        accepts_marketing=marketing,
        created_at=JOINED,
        updated_at=JOINED,
    )
    created = CustomerCreated(customer_id=customer_id, customer=snapshot)
    await record_contact(runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), created)
    return customer_id


def own_url(
    settings: NotificationsSettings, tenant: str, customer_id: uuid.UUID, channel: Channel
) -> str:
    secret = settings.unsubscribe_secret.get_secret_value().encode()
    token = unsubscribe_token(secret, UnsubscribeTarget(tenant, customer_id, channel))
    return f"/api/v1/preferences/{token}"


async def consent_commands(
    runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID
) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    query = (
        select(outbox.c.payload)
        .where(
            outbox.c.tenant_id == tenant,
            outbox.c.message_key == str(customer_id),
            outbox.c.message_type == "RecordConsent",
        )
        .order_by(outbox.c.seq)
    )
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        return [payload["data"] for (payload,) in await uow.session.execute(query)]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def fields_named(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]


async def queue(
    runtime: ServiceRuntime,
    tenant: str,
    settings: NotificationsSettings,
    customer_id: uuid.UUID,
    channel: Channel,
) -> dict[str, tuple[str, str | None]]:
    """A marketing and a transactional message: what became of each."""
    messenger = Messenger(settings.messaging_defaults(), settings.unsubscribe_url)
    cause = f"preferences-test-{uuid.uuid4()}"
    # a built-in template on both channels
    key, extras = "order_confirmation", {"order": ORDER}
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        queued = await messenger.queue(
            uow,
            [
                MessageRequest(customer_id, key, channel, cause, extras, category="marketing"),
                MessageRequest(
                    customer_id, key, channel, f"{cause}-t", extras, category="transactional"
                ),
            ],
        )
        await uow.commit()
    return {d.category: (d.status, d.skipped_reason) for d in queued.deliveries}


async def test_the_back_office_reads_a_customers_preferences(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    customer_id = await customer(runtime, tenant)

    response = await client.get(f"/api/v1/customers/{customer_id}/preferences", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "customer_id": str(customer_id),
        "email": "ravi.k@patron-tests.example",
        "phone": "+14155550199",
        "email_marketing": True,
        "sms_marketing": False,
        "email_unsubscribed": False,
        "sms_unsubscribed": False,
        "time_zone": None,
        "updated_at": None,
    }


async def test_a_reader_without_pii_sees_masked_addresses_and_cannot_write(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await customer(runtime, tenant)
    reader = bearer_headers(tenant, scopes=[Scope.NOTIFICATIONS_READ])
    url = f"/api/v1/customers/{customer_id}/preferences"

    read = await client.get(url, headers=reader)
    written = await client.put(url, json={"email_marketing": False}, headers=reader)

    assert (read.json()["email"], read.json()["phone"]) == (
        "r***@patron-tests.example",
        "********0199",
    )
    problem(written, 403)
    assert (await client.get(url, headers=reader)).json()["email_marketing"] is True


async def test_an_unknown_customer_is_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    url = f"/api/v1/customers/{uuid.uuid4()}/preferences"

    problem(await client.get(url, headers=admin), 404)
    problem(await client.put(url, json={"sms_unsubscribed": True}, headers=admin), 404)


async def test_the_back_office_changes_preferences_once_however_often_it_is_sent(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    customer_id = await customer(runtime, tenant)
    url = f"/api/v1/customers/{customer_id}/preferences"
    body = {"email_marketing": False, "sms_marketing": True, "time_zone": "Asia/Kolkata"}

    first = await client.put(url, json=body, headers=admin)
    second = await client.put(url, json=body, headers=admin)

    assert first.status_code == second.status_code == 200, first.text
    assert first.json() == second.json()
    changed = first.json()
    assert (changed["email_marketing"], changed["sms_marketing"], changed["time_zone"]) == (
        False,
        True,
        "Asia/Kolkata",
    )
    assert changed["updated_at"] is not None
    commands = await consent_commands(runtime, tenant, customer_id)
    assert [(c["purpose"], c["granted"], c["source"]) for c in commands] == [
        ("email_marketing", False, "back_office"),
        ("sms_marketing", True, "back_office"),
    ]
    assert (await client.get(url, headers=admin)).json() == changed


async def test_fields_left_out_keep_their_value_and_a_null_time_zone_means_the_default(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    customer_id = await customer(runtime, tenant)
    url = f"/api/v1/customers/{customer_id}/preferences"
    await client.put(
        url, json={"time_zone": "Europe/Paris", "sms_unsubscribed": True}, headers=admin
    )

    kept = await client.put(url, json={"email_unsubscribed": True}, headers=admin)
    cleared = await client.put(url, json={"time_zone": None}, headers=admin)

    assert (kept.json()["time_zone"], kept.json()["sms_unsubscribed"]) == ("Europe/Paris", True)
    assert kept.json()["email_unsubscribed"] is True
    assert cleared.json()["time_zone"] is None
    assert cleared.json()["sms_unsubscribed"] is True
    assert await consent_commands(runtime, tenant, customer_id) == []


@pytest.mark.parametrize(
    "case",
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "x" * 65}, "time_zone"),
        ({"email_marketing": "yes"}, "email_marketing"),
        ({"sms_unsubscribed": 1}, "sms_unsubscribed"),
        ({"newsletter": True}, "newsletter"),
    ],
)
async def test_a_bad_body_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    admin: dict[str, str],
    case: tuple[dict[str, Any], str],
) -> None:
    body, field = case
    customer_id = await customer(runtime, tenant)
    url = f"/api/v1/customers/{customer_id}/preferences"

    response = await client.put(url, json=body | {"email_unsubscribed": True}, headers=admin)

    assert field in fields_named(problem(response, 422))
    assert (await client.get(url, headers=admin)).json()["email_unsubscribed"] is False


async def test_the_customer_manages_both_channels_with_the_link_of_one(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    url = own_url(service_settings, tenant, customer_id, "email")

    read = await client.get(url)
    written = await client.put(url, json={"sms_marketing": True, "email_marketing": False})

    assert read.status_code == 200, read.text
    assert read.json()["email"] == "r***@patron-tests.example"
    assert (read.json()["email_marketing"], read.json()["sms_marketing"]) == (True, False)
    assert written.status_code == 200, written.text
    assert (written.json()["email_marketing"], written.json()["sms_marketing"]) == (False, True)
    assert written.json()["phone"] == "********0199"
    commands = await consent_commands(runtime, tenant, customer_id)
    assert {(c["purpose"], c["granted"], c["source"]) for c in commands} == {
        ("email_marketing", False, "preference_centre"),
        ("sms_marketing", True, "preference_centre"),
    }


async def test_the_customers_link_is_refused_when_forged_or_malformed(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    other = NotificationsSettings(unsubscribe_secret="another-secret")
    forged = own_url(other, tenant, customer_id, "sms")

    problem(await client.get(forged), 403)
    problem(await client.put(forged, json={"email_marketing": False}), 403)
    assert fields_named(problem(await client.get("/api/v1/preferences/garbage"), 422)) == ["token"]
    assert await consent_commands(runtime, tenant, customer_id) == []


async def test_the_customers_link_of_someone_unknown_here_is_404(
    client: httpx.AsyncClient, tenant: str, service_settings: NotificationsSettings
) -> None:
    url = own_url(service_settings, tenant, uuid.uuid4(), "email")

    problem(await client.get(url), 404)


async def test_a_marketing_opt_out_skips_marketing_and_keeps_transactional_messages(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    admin: dict[str, str],
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    assert (await queue(runtime, tenant, service_settings, customer_id, "email"))["marketing"] == (
        "queued",
        None,
    )
    url = f"/api/v1/customers/{customer_id}/preferences"
    assert (await client.put(url, json={"email_marketing": False}, headers=admin)).is_success

    outcome = await queue(runtime, tenant, service_settings, customer_id, "email")

    assert outcome == {
        "marketing": ("skipped", "no_marketing_consent"),
        "transactional": ("queued", None),
    }


async def test_unsubscribing_from_a_channel_skips_even_transactional_messages_on_it(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    url = own_url(service_settings, tenant, customer_id, "email")
    assert (await client.put(url, json={"email_unsubscribed": True})).is_success

    email = await queue(runtime, tenant, service_settings, customer_id, "email")
    sms = await queue(runtime, tenant, service_settings, customer_id, "sms")

    assert email == {
        "marketing": ("skipped", "unsubscribed"),
        "transactional": ("skipped", "unsubscribed"),
    }
    assert sms["transactional"] == ("queued", None)


BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_a_browser_gets_the_preference_page_with_the_choices_ticked(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)

    response = await client.get(
        own_url(service_settings, tenant, customer_id, "sms"), headers=BROWSER
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert '<form method="post">' in page
    assert 'name="email_marketing" value="on" checked>' in page
    assert 'name="sms_marketing" value="on">' in page
    assert "r***@patron-tests.example" in page
    assert "ravi.k@" not in page
    assert '<option value="Europe/Paris">' in page


async def test_the_page_form_saves_every_box_as_ticked_or_not(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    url = own_url(service_settings, tenant, customer_id, "email")

    response = await client.post(
        url,
        content=b"sms_marketing=on&sms_unsubscribed=&time_zone=America%2FChicago",
        headers=FORM | BROWSER,
    )

    assert response.status_code == 200, response.text
    assert "Your preferences are saved." in response.text
    stored = (await client.get(url)).json()
    assert {k: stored[k] for k in ("email_marketing", "sms_marketing", "email_unsubscribed")} == {
        "email_marketing": False,
        "sms_marketing": True,
        "email_unsubscribed": False,
    }
    assert (stored["sms_unsubscribed"], stored["time_zone"]) == (True, "America/Chicago")
    commands = await consent_commands(runtime, tenant, customer_id)
    assert {(c["purpose"], c["granted"]) for c in commands} == {
        ("email_marketing", False),
        ("sms_marketing", True),
    }


async def test_the_page_form_with_a_bad_time_zone_answers_the_page_naming_it(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    url = own_url(service_settings, tenant, customer_id, "email")

    response = await client.post(
        url, content=b"email_unsubscribed=on&time_zone=%3Cb%3EMars", headers=FORM | BROWSER
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "(time_zone)" in response.text
    assert "<b>Mars" not in response.text
    assert (await client.get(url)).json()["email_unsubscribed"] is False


async def test_the_page_form_must_be_a_form(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    customer_id = await customer(runtime, tenant)
    url = own_url(service_settings, tenant, customer_id, "email")

    response = await client.post(url, json={"email_marketing": False})

    assert fields_named(problem(response, 422)) == ["content-type"]
