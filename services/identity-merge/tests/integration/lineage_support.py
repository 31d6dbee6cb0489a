"""Helpers for the identity graph's integration tests: deliver profile events, read rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from patron_identity.adapters.tables import identifiers, messaging
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomersMerged,
    CustomerSnapshot,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def deliver(runtime: ServiceRuntime, tenant: str, event: Contract) -> str:
    """Hand `event` to the customer projection as Kafka would."""
    envelope = build_envelope(event, tenant_id=tenant, source="profile")
    return await deliver_record(runtime, envelope)


async def created(
    runtime: ServiceRuntime, tenant: str, email: str, phone: str | None = None
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(
        email=email,
        phone=phone,
        external_ids={"shopify": uuid.uuid4().hex[:8]},
        created_at=JOINED,
        updated_at=JOINED,
    )
    assert (
        await deliver(runtime, tenant, CustomerCreated(customer_id=customer_id, customer=snapshot))
        == "processed"
    )
    return customer_id


def merged(survivor: uuid.UUID, gone: uuid.UUID, **fields: Any) -> CustomersMerged:
    values: dict[str, Any] = {
        "merged_at": JOINED + timedelta(days=1),
        "merged_by": "auto",
        "merge_id": uuid.uuid4(),
        "rule": "exact:email",
        "score": 0.9991,
        "suggestion_id": uuid.uuid4(),
    }
    return CustomersMerged(customer_id=survivor, merged_customer_id=gone, **(values | fields))


async def owned(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> dict[str, str]:
    """value -> source of the identifiers `customer_id` owns."""
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(identifiers.c.value, identifiers.c.source).where(
                identifiers.c.customer_id == customer_id
            )
        )
        return {row.value: row.source for row in rows}


async def outbox_events(runtime: ServiceRuntime, tenant: str, message_type: str) -> list[Any]:
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.payload, outbox.c.topic, outbox.c.message_key)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == message_type)
            .order_by(outbox.c.seq)
        )
        return list(rows)
