"""A delivery to build tests on (the text telling a customer their order has shipped), and
how a test reads one back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.delivery import Delivery, idempotency_key
from patron_shared.http import ServiceRuntime


def shipping_sms(*, cause: str = "order-1", **fields: Any) -> Delivery:
    """A transactional SMS for a new customer, queued now; `fields` set the rest (status,
    attempts, times, provider id...)."""
    customer = uuid.uuid4()
    return Delivery(
        **{
            "delivery_id": uuid.uuid4(),
            "customer_id": customer,
            "channel": "sms",
            "category": "transactional",
            "template_key": "shipping_update",
            "idempotency_key": idempotency_key(cause, "shipping_update", customer, "sms"),
            "recipient": "+15005550006",
            "created_at": datetime.now(UTC),
            "cause": cause,
            "text": "Your order has shipped.",
        }
        | fields
    )


async def stored(runtime: ServiceRuntime, tenant: str, sms: Delivery) -> Delivery:
    """The delivery as the tenant's database holds it now."""
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        found = await uow.deliveries.get(sms.delivery_id)
    assert found is not None
    return found
