"""The notifications customer consumer: `patron.customer.events.v1` -> contacts and their
marketing consent; a new customer's welcome message (see `service/triggers.py`)."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.contacts import record_consent
from patron_notifications.service.lifecycle import (
    delete_customer,
    erase_customer,
    merge_contacts,
)
from patron_notifications.service.triggers import Triggers
from patron_shared.events import (
    ConsentChanged,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomerUpdated,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "notifications.customer-projection"


def build_customer_consumer(
    runtime: ServiceRuntime, triggers: Triggers
) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], NotificationsUnitOfWork
    )
    # recorded and welcomed in one transaction
    consumer.on_batch([CustomerCreated], triggers.customers_created)
    # recorded, and what waited for the customer planned, in one transaction
    consumer.on(CustomerUpdated, triggers.customer_updated)
    # the contact marked deleted, and what waited for the customer skipped, together
    consumer.on(CustomerDeleted, delete_customer)
    # the contact and its delivery log erased together; merges join contacts and logs
    consumer.on(CustomerErased, erase_customer)
    consumer.on(CustomersMerged, merge_contacts)
    consumer.on(ConsentChanged, record_consent)
    return consumer
