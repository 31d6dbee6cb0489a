"""End to end on the local stack: a CustomerCreated published to Kafka reaches the running
service's consumer, which records the customer and queues the welcome message; its delivery
worker sends it to the real SMTP sink."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from patron_notifications.app import create_app
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import CustomerCreated, CustomerSnapshot, Topic, build_envelope, utcnow
from patron_shared.testing import KafkaProbe, read_stack_env, wait_for_assignment

pytestmark = pytest.mark.integration


async def sink_messages_to(sink_url: str, recipient: str, timeout_s: float) -> list[Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(int(timeout_s / 0.2)):
            captured = (await client.get(f"{sink_url}/messages")).json()
            mine = [m for m in captured if recipient in m["recipients"]]
            if mine:
                return mine
            await asyncio.sleep(0.2)
    return []


async def test_a_customer_created_on_kafka_is_welcomed_by_email_through_the_smtp_sink(
    service_settings: NotificationsSettings, tenant: str
) -> None:
    stack = read_stack_env()
    if "PATRON_SMTP_SINK_URL" not in stack:
        pytest.fail("the local stack's sinks are not running: `uv run patron stack up`")
    settings = service_settings.model_copy(
        update={
            "smtp_host": stack["PATRON_SMTP_HOST"],
            "smtp_port": int(stack["PATRON_SMTP_PORT"]),
            "delivery_idle_seconds": 0.2,
            "birthday_job_interval_seconds": 0,
            "campaign_runner_interval_seconds": 0,
            # a group of its own, so no other test's app shares its partitions
            "consumer_group_prefix": f"test-{uuid.uuid4().hex[:8]}-",
        }
    )
    app = create_app(settings)
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
            received = await sink_messages_to(stack["PATRON_SMTP_SINK_URL"], recipient, 30)
    finally:
        await probe.stop()

    assert len(received) == 1
    assert received[0]["subject"] == "Welcome to Patron Shop, Kafka!"
    assert "Hi Kafka," in received[0]["text"]
