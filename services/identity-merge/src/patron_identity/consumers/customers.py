"""The identity customer consumer: `patron.customer.events.v1` -> the identity graph."""

from __future__ import annotations

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.matching import NormalizationRules
from patron_identity.service.customers import (
    change_address,
    delete_customer,
    erase_customer,
    merge_customers,
    record_customer,
)
from patron_shared.events import (
    AddressChanged,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomerUpdated,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "identity.customer-projection"


def build_customer_consumer(
    runtime: ServiceRuntime, rules: NormalizationRules
) -> EventConsumer[IdentityUnitOfWork]:
    """`rules`: how the tenant's emails and phones are normalized into identifiers."""
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], IdentityUnitOfWork
    )

    async def record(uow: IdentityUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
        await record_customer(uow, event, rules=rules)

    consumer.on(CustomerCreated, record)
    consumer.on(CustomerUpdated, record)
    consumer.on(AddressChanged, change_address)
    consumer.on(CustomerDeleted, delete_customer)
    consumer.on(CustomerErased, erase_customer)
    consumer.on(CustomersMerged, merge_customers)
    return consumer
