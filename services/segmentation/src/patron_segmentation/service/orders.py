"""Order-event use cases: fold the event into its order, then refold the customer's facts.

Events come in any order and more than once: the inbox drops a redelivered message, and
`patron_shared.orders` folds each event so that any interleaving gives the same order; the
customer's order facts are then recomputed from all its orders, never added to.
"""

from __future__ import annotations

import uuid

from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.service.membership import refresh_customer
from patron_segmentation.service.ports import OrdersUnitOfWork
from patron_shared.events import utcnow
from patron_shared.orders import OrderEvent, apply_order_event


async def record_order_event(uow: OrdersUnitOfWork, event: OrderEvent) -> None:
    """Merge a placed, paid, refunded or cancelled event into its order, then refold the
    facts of the customer (or two) it concerns."""
    async with uow:
        # the message's id identifies the event: a refund, the placing message
        event_id = uuid.UUID(uow.causation_id) if uow.causation_id else uuid.uuid4()
        # an event still naming a merged-away customer belongs to its survivor
        customer_id = await uow.facts.survivor_of(event.customer_id) or event.customer_id
        before = await uow.orders.lock(event.order_id, customer_id=customer_id)
        after = apply_order_event(before, event, event_id=event_id, owner=customer_id)
        if after != before:
            await uow.orders.save(after)
            # OrderPlaced may move an order that early events filed under another customer
            for owner in dict.fromkeys((after.customer_id, before.customer_id)):
                facts = OrderFacts.from_orders(await uow.orders.of_customer(owner))
                await uow.orders.save_facts(owner, facts)
                await refresh_customer(uow, owner, utcnow())
        await uow.commit()
