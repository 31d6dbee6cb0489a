"""Notification commands (`patron.notification.commands.v1`, sent by any service) and
notification events (`patron.notification.events.v1`, produced by notifications)."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import Field, JsonValue

from patron_shared.events.base import Contract
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic

NotificationChannel = Literal["email", "sms"]
NotificationCategory = Literal["transactional", "marketing"]
DeliveryStatus = Literal["delivered", "opened", "clicked", "bounced"]

TemplateKey = Annotated[str, Field(min_length=1, max_length=100, examples=["order_confirmation"])]


class SendNotification(Contract):
    """Ask notifications to render `template` for the customer and send it on `channel`.

    Marketing messages are sent only with the customer's consent; transactional ones are
    sent regardless. The same `idempotency_key` is sent at most once.
    """

    event_type: ClassVar[str] = "SendNotification"
    topic: ClassVar[Topic] = Topic.NOTIFICATION_COMMANDS
    kind: ClassVar[str] = "command"

    customer_id: uuid.UUID
    template: TemplateKey
    channel: NotificationChannel
    category: NotificationCategory
    variables: dict[str, JsonValue] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    requested_by: str | None = Field(default=None, max_length=200)


class _NotificationEvent(Contract):
    topic: ClassVar[Topic] = Topic.NOTIFICATION_EVENTS

    customer_id: uuid.UUID
    notification_id: uuid.UUID
    channel: NotificationChannel
    template: TemplateKey
    category: NotificationCategory


class NotificationSent(_NotificationEvent):
    """Handed to the SMTP server or SMS gateway (not yet known to be delivered)."""

    event_type: ClassVar[str] = "NotificationSent"

    sent_at: UtcDatetime


class NotificationFailed(_NotificationEvent):
    """`permanent` failures (bad address, no consent) are not retried."""

    event_type: ClassVar[str] = "NotificationFailed"

    error: str = Field(min_length=1, max_length=2000)
    permanent: bool
    failed_at: UtcDatetime


class NotificationDelivered(_NotificationEvent):
    """A delivery report from the provider; `status` is the latest one known."""

    event_type: ClassVar[str] = "NotificationDelivered"

    status: DeliveryStatus
    delivered_at: UtcDatetime
