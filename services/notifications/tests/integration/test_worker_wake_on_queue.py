"""The delivery worker of a running service wakes when messages are queued (a NOTIFY at
commit), not at its next look; it keeps sending when its LISTEN connection is lost and
listens again later; and each SMS it sends asks the provider to report to the public
status callback URL, whose report then confirms the message."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from patron_notifications.adapters.deliveries import DELIVERIES_DUE_CHANNEL
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.app import create_app
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Delivery, idempotency_key
from patron_notifications.domain.status_callback import twilio_signature
from patron_notifications.settings import NotificationsSettings
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration
IDLE_SECONDS = 30.0  # the worker's own look comes far too late for any of these tests
PUBLIC_URL = "https://patron.example.com/"


@pytest.fixture
async def worker_app(
    sink_settings: NotificationsSettings,
) -> AsyncIterator[FastAPI]:
    """The service running with its worker (and its lifespan: broker, relay, listener)."""
    settings = sink_settings.model_copy(
        update={"public_base_url": PUBLIC_URL, "delivery_idle_seconds": IDLE_SECONDS}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # the first round and the one on connecting the listener: over before tests queue
        await asyncio.sleep(1.0)
        yield app


def message(channel: Channel, recipient: str, text_body: str) -> Delivery:
    customer = uuid.uuid4()
    return Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=customer,
        channel=channel,
        category="transactional",
        template_key="welcome",
        idempotency_key=idempotency_key(f"wake-{uuid.uuid4()}", "welcome", customer, channel),
        recipient=recipient,
        created_at=datetime.now(UTC),
        cause="wake-test",
        subject="Welcome" if channel == "email" else None,
        text=text_body,
    )


async def queue(runtime: ServiceRuntime, tenant: str, delivery: Delivery) -> None:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        assert await uow.deliveries.queue([delivery]) == {delivery.delivery_id}
        await uow.commit()


async def captured(sink_url: str, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        messages: list[dict[str, Any]] = (await client.get(f"{sink_url}/messages")).json()
    return [m for m in messages if match(m)]


async def seconds_until_captured(
    sink_url: str, match: Callable[[dict[str, Any]], bool], *, within: float
) -> float:
    """How long it took the sink to get a matching message (fails after `within` s)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < within:
        if await captured(sink_url, match):
            return loop.time() - start
        await asyncio.sleep(0.05)
    pytest.fail(f"nothing reached {sink_url} within {within} s")


async def email_sent_within(
    runtime: ServiceRuntime, tenant: str, stack: dict[str, str], within: float
) -> float:
    recipient = f"wake-{uuid.uuid4().hex[:10]}@patron-tests.example"
    await queue(runtime, tenant, message("email", recipient, "Woken up"))
    return await seconds_until_captured(
        stack["PATRON_SMTP_SINK_URL"], lambda m: recipient in m["recipients"], within=within
    )


async def test_a_message_queued_in_a_committed_transaction_is_sent_at_once(
    worker_app: FastAPI, stack: dict[str, str], tenant: str
) -> None:
    runtime: ServiceRuntime = worker_app.state.runtime

    first = await email_sent_within(runtime, tenant, stack, within=2.0)
    await asyncio.sleep(0.5)  # the worker rests again
    second = await email_sent_within(runtime, tenant, stack, within=2.0)

    assert max(first, second) < 2.0


async def test_an_uncommitted_queue_wakes_nobody(
    worker_app: FastAPI, stack: dict[str, str], tenant: str
) -> None:
    runtime: ServiceRuntime = worker_app.state.runtime
    recipient = f"rolled-back-{uuid.uuid4().hex[:10]}@patron-tests.example"
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.deliveries.queue([message("email", recipient, "Never")])
        # left without commit: rolled back, NOTIFY and all

    await email_sent_within(runtime, tenant, stack, within=2.0)
    late = await captured(stack["PATRON_SMTP_SINK_URL"], lambda m: recipient in m["recipients"])
    assert late == []


async def test_the_worker_keeps_sending_without_its_listen_connection_and_listens_again(
    worker_app: FastAPI, stack: dict[str, str], tenant: str
) -> None:
    runtime: ServiceRuntime = worker_app.state.runtime
    async with runtime.engine.connect() as connection:
        ended = (
            await connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM "
                    "pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = "
                    "current_database() AND query ILIKE :listen"
                ),
                {"listen": f"%LISTEN%{DELIVERIES_DUE_CHANNEL}%"},
            )
        ).scalar_one()
    assert ended == 1

    # listening again after a few seconds, it looks for what was queued meanwhile
    await asyncio.sleep(0.2)
    while_lost = await email_sent_within(runtime, tenant, stack, within=10.0)
    await asyncio.sleep(0.5)
    listening_again = await email_sent_within(runtime, tenant, stack, within=2.0)

    assert while_lost > 0.5  # not woken: nobody listened
    assert listening_again < 2.0


async def test_an_sms_asks_for_reports_on_the_public_url_and_its_report_confirms_it(
    worker_app: FastAPI,
    stack: dict[str, str],
    tenant: str,
    service_settings: NotificationsSettings,
) -> None:
    runtime: ServiceRuntime = worker_app.state.runtime
    body = f"Your code is {uuid.uuid4().hex[:8]}"
    sms = message("sms", "+15005550006", body)
    await queue(runtime, tenant, sms)

    await seconds_until_captured(
        stack["PATRON_SMS_SINK_URL"], lambda m: m["body"] == body, within=2.0
    )
    [texted] = await captured(stack["PATRON_SMS_SINK_URL"], lambda m: m["body"] == body)
    callback = f"https://patron.example.com/api/v1/notifications/sms/status/{tenant}"
    assert texted["status_callback"] == callback

    for _ in range(50):  # the round records the sid once its sends are done
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
            stored = await uow.deliveries.get(sms.delivery_id)
        assert stored is not None
        if stored.status == "sent":
            break
        await asyncio.sleep(0.05)
    assert (stored.status, stored.provider_message_id) == ("sent", texted["sid"])

    # the provider's report, signed over that URL, reaches the service through the gateway
    form = {"MessageSid": texted["sid"], "MessageStatus": "delivered", "To": texted["to"]}
    signature = twilio_signature(callback, form, service_settings.sms_auth_token.get_secret_value())
    transport = httpx.ASGITransport(app=worker_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
        response = await client.post(
            f"/api/v1/notifications/sms/status/{tenant}",
            data=form,
            headers={"X-Twilio-Signature": signature},
        )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"
