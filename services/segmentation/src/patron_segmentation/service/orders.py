"""Order-event use cases: fold the events into their orders, then refold the customers'
facts.

Events come in any order and more than once: the inbox drops a redelivered message, and
`patron_shared.orders` folds each event so that any interleaving gives the same order; the
customers' order facts are then recomputed from all their orders, never added to. Events
come in batches (one transaction for many, the way they arrive at 1,000 a second) or one at
a time (a batch of one): the result is the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.service.membership import refresh_customers
from patron_segmentation.service.ports import OrdersUnitOfWork
from patron_shared.events import Delivery, Envelope, utcnow
from patron_shared.orders import OrderEvent, apply_order_event


async def record_order_events(
    uow: OrdersUnitOfWork, deliveries: Sequence[Delivery[OrderEvent]]
) -> None:
    """Merge placed, paid, refunded or cancelled events into their orders, in the order
    they came, then refold the facts of every customer whose orders changed."""
    async with uow:
        # an event still naming a merged-away customer belongs to its survivor
        survivors = await uow.facts.survivors_of({d.event.customer_id for d in deliveries})
        owners = [survivors.get(d.event.customer_id, d.event.customer_id) for d in deliveries]
        new_owners: dict[str, uuid.UUID] = {}
        for delivery, owner in zip(deliveries, owners, strict=True):
            new_owners.setdefault(delivery.event.order_id, owner)  # the first event files it
        locked = await uow.orders.lock(new_owners)
        current = dict(locked)
        # each customer whose orders changed, with the (last) message that changed them
        causes: dict[uuid.UUID, Envelope] = {}
        for delivery, owner in zip(deliveries, owners, strict=True):
            before = current[delivery.event.order_id]
            # the message's id identifies the event: a refund, the placing message
            after = apply_order_event(
                before, delivery.event, event_id=delivery.envelope.id, owner=owner
            )
            if after != before:
                current[after.order_id] = after
                # OrderPlaced may move an order that early events filed under another customer
                for customer_id in (after.customer_id, before.customer_id):
                    causes[customer_id] = delivery.envelope
        await uow.orders.save([order for key, order in current.items() if order != locked[key]])
        await refold_customers(uow, causes, utcnow())
        await uow.commit()


async def refold_customers(
    uow: OrdersUnitOfWork, causes: Mapping[uuid.UUID, Envelope | None], now: datetime
) -> None:
    """Inside an open unit of work: each customer's order facts recomputed from all its
    orders, then its memberships; what changes is announced as caused by `causes`' message
    (None: the unit of work's own)."""
    if not causes:
        return
    histories = await uow.orders.of_customers(causes.keys())
    await uow.orders.save_facts(
        {customer_id: OrderFacts.from_orders(orders) for customer_id, orders in histories.items()}
    )
    await refresh_customers(uow, causes, now)
