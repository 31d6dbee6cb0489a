"""A delivery to build tests on: the text telling a customer their order has shipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from patron_notifications.domain.delivery import Delivery, idempotency_key


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
