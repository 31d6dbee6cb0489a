"""Order use cases: keep each customer's orders and statistics exact under any delivery.

Every order event merges into the stored order (see `patron_shared.orders`), whatever arrived
before it; then the statistics of the customer who owns the order are recomputed from its
stored orders. Redeliveries change nothing: the inbox drops a repeated message, and each
merge is idempotent anyway (the first OrderPlaced per order id, the earliest payment and
cancellation time, each refund once per event id). An order for a customer not known here
yet is kept and counted when the customer is created (`count_uncounted_orders`); one for a
customer merged into another is filed under the survivor.
"""

from __future__ import annotations

import uuid

from patron_profile.domain.customer import Customer
from patron_profile.service.groups import apply_group_rules
from patron_profile.service.ports import CustomerUnitOfWork
from patron_shared.orders import OrderEvent, apply_order_event


async def record_order_event(uow: CustomerUnitOfWork, event: OrderEvent) -> None:
    """Merge a placed, paid, refunded or cancelled event into its stored order; the order
    belongs to the customer the event names, or its survivor when that one was merged away."""
    customer_id = event.customer_id
    async with uow:
        # The message id identifies the event (a refund, the placing message).
        event_id = uuid.UUID(uow.causation_id) if uow.causation_id else uuid.uuid4()
        # Locking the customer first serialises its concurrent order events.
        customer = await uow.customers.get(customer_id, for_update=True)
        if customer is None:
            # An event still naming a merged customer belongs to its survivor.
            survivor = await uow.customers.survivor_of(customer_id)
            if survivor is not None:
                customer_id = survivor
                customer = await uow.customers.get(customer_id, for_update=True)
        customers = {customer_id: customer}
        before = await uow.orders.lock(event.order_id, customer_id=customer_id)
        after = apply_order_event(before, event, event_id=event_id, owner=customer_id)
        if after != before:
            await uow.orders.save(after)
            # OrderPlaced may move an order that early events filed under another customer.
            for owner in dict.fromkeys((after.customer_id, before.customer_id)):
                if owner not in customers:
                    customers[owner] = await uow.customers.get(owner, for_update=True)
                customer = customers[owner]
                if customer is not None:
                    await count_uncounted_orders(uow, customer)
        await uow.commit()


async def count_uncounted_orders(uow: CustomerUnitOfWork, customer: Customer) -> None:
    """Bring the customer's statistics in line with its stored orders (inside a unit of work).

    A new customer may already have orders: their events can come before it is created here.
    """
    stats = await uow.orders.stats_for(customer.id)
    if stats != customer.stats:
        customer.stats = stats
        await uow.customers.save(customer)
        await apply_group_rules(uow, customer)
