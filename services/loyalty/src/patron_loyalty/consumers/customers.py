"""The loyalty customer consumer: `patron.customer.events.v1` -> memberships."""

from __future__ import annotations

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.service.members import close_membership, enroll_member
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerUpdated, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "loyalty.customer-projection"


def build_customer_consumer(runtime: ServiceRuntime) -> EventConsumer[LoyaltyUnitOfWork]:
    consumer = runtime.event_consumer(CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], LoyaltyUnitOfWork)
    consumer.on(CustomerCreated, enroll_member)
    consumer.on(CustomerUpdated, enroll_member)
    consumer.on(CustomerDeleted, close_membership)
    return consumer
