"""End to end on the local stack: a CustomerCreated published to Kafka reaches the running
service's consumer, which records the customer and queues the welcome message; its delivery
worker sends it to the real SMTP sink."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.app import create_app
from patron_notifications.domain.delivery import Delivery
from patron_notifications.service.sending import message_id_of
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import CustomerCreated, CustomerSnapshot, Topic, build_envelope, utcnow
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe, wait_for_assignment

pytestmark = pytest.mark.integration


async def sink_messages_with_id(sink_url: str, message_id: str, timeout_s: float) -> list[Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(int(timeout_s / 0.2)):
            captured = (await client.get(f"{sink_url}/messages")).json()
            mine = [m for m in captured if m["headers"].get("Message-ID") == message_id]
            if mine:
                return mine
            await asyncio.sleep(0.2)
    return []


async def welcome_of(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Delivery:
    for _ in range(150):
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
            log, _ = await uow.deliveries.log(customer_id, after=None, limit=10)
        if log:
            (welcome,) = log
            return welcome
        await asyncio.sleep(0.2)
    raise AssertionError("no welcome message was queued")


async def test_a_customer_created_on_kafka_is_welcomed_by_email_through_the_smtp_sink(
    sink_settings: NotificationsSettings, stack: dict[str, str], tenant: str
) -> None:
    # a group of its own, so no other test's app shares its partitions
    settings = sink_settings.model_copy(
        update={"consumer_group_prefix": f"test-{uuid.uuid4().hex[:8]}-"}
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    customer_id, now = uuid.uuid4(), utcnow()
    recipient = f"welcome-{uuid.uuid4().hex[:10]}@patron-tests.example"
    snapshot = CustomerSnapshot(email=recipient, first_name="Kafka", created_at=now, updated_at=now)
    message = build_envelope(
        CustomerCreated(customer_id=customer_id, customer=snapshot),
        tenant_id=tenant,
        source="profile",
    )
    probe = KafkaProbe(settings.kafka_bootstrap)
    await probe.start()
    try:
        async with app.router.lifespan_context(app):
            await wait_for_assignment(app.state.runtime.broker)
            await probe.publish(
                Topic.CUSTOMER_EVENTS,
                message.model_dump_json().encode(),
                key=str(customer_id),
            )
            welcome = await welcome_of(runtime, tenant, customer_id)
            # the running stack's own service reads the shared topic too, and may welcome
            # the same address from its own database: this app's message has its delivery id
            received = await sink_messages_with_id(
                stack["PATRON_SMTP_SINK_URL"], message_id_of(welcome.delivery_id), 30
            )
    finally:
        await probe.stop()

    assert welcome.template_key == "welcome"
    assert len(received) == 1
    assert received[0]["subject"] == "Welcome to Patron Shop, Kafka!"
    assert "Hi Kafka," in received[0]["text"]
    assert received[0]["recipients"] == [recipient]
