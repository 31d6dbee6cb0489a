"""The notifications customer consumer: `patron.customer.events.v1` -> contacts and their
marketing consent."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.contacts import (
    delete_contact,
    erase_contact,
    record_consent,
    record_contact,
)
from patron_shared.events import (
    ConsentChanged,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomerUpdated,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "notifications.customer-projection"


def build_customer_consumer(runtime: ServiceRuntime) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], NotificationsUnitOfWork
    )
    consumer.on(CustomerCreated, record_contact)
    consumer.on(CustomerUpdated, record_contact)
    consumer.on(CustomerDeleted, delete_contact)
    consumer.on(CustomerErased, erase_contact)
    consumer.on(ConsentChanged, record_consent)
    return consumer
