"""The notifications identity consumer: `patron.identity.events.v1` -> unmerges (the
restored customer's contact, preferences and delivery log; see `service/lifecycle.py`)."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.lifecycle import unmerge_contacts
from patron_shared.events import CustomersUnmerged, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

IDENTITY_CONSUMER = "notifications.identity"


def build_identity_consumer(runtime: ServiceRuntime) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        IDENTITY_CONSUMER, [Topic.IDENTITY_EVENTS], NotificationsUnitOfWork
    )
    consumer.on(CustomersUnmerged, unmerge_contacts)
    return consumer
