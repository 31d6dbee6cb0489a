"""Erasure acknowledgements (`patron.erasure.events.v1`): each service, having erased its
copy of a customer for a `CustomerErased`, says so; the profile keeps every service's status
(`GET /api/v1/customers/{id}/erasure`)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from patron_shared.events.base import Contract
from patron_shared.events.customer import ErasureMode
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic


class ErasureAcknowledged(Contract):
    """`service` erased (or anonymized) its copy of `customer_id` for the erasure
    `erasure_id`, outbox included, in the transaction that wrote this event."""

    topic: ClassVar[Topic] = Topic.ERASURE_EVENTS
    event_type: ClassVar[str] = "ErasureAcknowledged"

    customer_id: uuid.UUID
    erasure_id: uuid.UUID
    service: str = Field(
        pattern=r"^[a-z][a-z0-9_.-]{0,62}$", examples=["loyalty.points"], max_length=63
    )
    mode: ErasureMode
    completed_at: UtcDatetime
