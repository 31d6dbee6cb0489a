"""The identity customer consumer: `patron.customer.events.v1` -> identity records."""

from __future__ import annotations

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.service.customers import delete_customer, erase_customer, record_customer
from patron_shared.events import (
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomerUpdated,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "identity.customer-projection"


def build_customer_consumer(runtime: ServiceRuntime) -> EventConsumer[IdentityUnitOfWork]:
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], IdentityUnitOfWork
    )
    consumer.on(CustomerCreated, record_customer)
    consumer.on(CustomerUpdated, record_customer)
    consumer.on(CustomerDeleted, delete_customer)
    consumer.on(CustomerErased, erase_customer)
    return consumer
