"""The store-credit lifecycle consumer: merges, unmerges and erasures -> credit.

`CustomersMerged` and `CustomerErased` come from the profile (`patron.customer.events.v1`),
`CustomersUnmerged` from identity-merge (`patron.identity.events.v1`); one group of its own
reads both.
"""

from __future__ import annotations

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.service.credit import erase_credit, merge_credit, unmerge_credit
from patron_shared.events import CustomerErased, CustomersMerged, CustomersUnmerged, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CREDIT_LIFECYCLE_CONSUMER = "loyalty.credit-lifecycle"


def build_credit_lifecycle_consumer(runtime: ServiceRuntime) -> EventConsumer[LoyaltyUnitOfWork]:
    consumer = runtime.event_consumer(
        CREDIT_LIFECYCLE_CONSUMER,
        [Topic.CUSTOMER_EVENTS, Topic.IDENTITY_EVENTS],
        LoyaltyUnitOfWork,
    )
    consumer.on(CustomersMerged, merge_credit)
    consumer.on(CustomersUnmerged, unmerge_credit)
    consumer.on(CustomerErased, erase_credit)
    return consumer
