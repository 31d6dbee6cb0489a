"""Helpers for tests that drive the profile through Kafka: publish commands and identity
events as identity-merge does, wait for their effect, read what the profile emitted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import select

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.events import Contract, Envelope, build_envelope
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe

ResultT = TypeVar("ResultT")


async def publish(probe: KafkaProbe, tenant: str, message: Contract) -> Envelope:
    """`message` on its topic, keyed by its customer, as identity-merge sends it."""
    envelope = build_envelope(message, tenant_id=tenant, source="identity-merge")
    await probe.publish(message.topic, envelope.to_json_bytes(), key=envelope.subject)
    return envelope


async def eventually(
    check: Callable[[], Awaitable[ResultT]],
    until: Callable[[ResultT], bool],
    timeout_s: float = 20.0,
) -> ResultT:
    """`check()` once `until` holds for it, or its last result at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await check()
        if until(result) or loop.time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def new_customer(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    body.setdefault("email", f"{uuid.uuid4().hex[:12]}@example.com")
    response = await client.post("/api/v1/customers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def emitted(
    runtime: ServiceRuntime, tenant: str, customer_id: str | uuid.UUID, *types: str
) -> list[dict[str, Any]]:
    """The envelopes the profile wrote to its outbox about `customer_id`, oldest first."""
    outbox = messaging.outbox
    query = (
        select(outbox.c.payload)
        .where(outbox.c.tenant_id == tenant, outbox.c.message_key == str(customer_id))
        .order_by(outbox.c.seq)
    )
    if types:
        query = query.where(outbox.c.message_type.in_(types))
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        return [payload for (payload,) in await uow.session.execute(query)]
