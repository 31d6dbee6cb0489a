"""Order-event use cases: fold the event into its order, then refold the customer's facts.

Events come in any order and more than once: the inbox drops a redelivered message, and
`patron_shared.orders` folds each event so that any interleaving gives the same order; the
customer's order facts are then recomputed from all its orders, never added to.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from patron_segmentation.domain.orders import OrderFacts
from patron_segmentation.service.membership import refresh_customer
from patron_segmentation.service.ports import OrdersUnitOfWork
from patron_shared.events import (
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    utcnow,
)
from patron_shared.orders import OrderState, Refund

# (the order, the id of the message that changes it, the customer it belongs to) -> the order
OrderChange = Callable[[OrderState, uuid.UUID, uuid.UUID], OrderState]


async def record_order_placed(uow: OrdersUnitOfWork, event: OrderPlaced) -> None:
    items = [item.model_dump(mode="json") for item in event.items]

    def place(order: OrderState, event_id: uuid.UUID, owner: uuid.UUID) -> OrderState:
        return order.place(
            customer_id=owner,
            currency=event.currency,
            total=event.total,
            placed_at=event.placed_at,
            event_id=event_id,
            order_number=event.order_number,
            channel=event.channel,
            items=items,
        )

    await _change_order(uow, event.order_id, event.customer_id, place)


async def record_order_paid(uow: OrdersUnitOfWork, event: OrderPaid) -> None:
    await _change_order(
        uow, event.order_id, event.customer_id, lambda o, _, __: o.pay(event.paid_at)
    )


async def record_order_refunded(uow: OrdersUnitOfWork, event: OrderRefunded) -> None:
    def refund(order: OrderState, event_id: uuid.UUID, _: uuid.UUID) -> OrderState:
        return order.refund(
            Refund(
                refund_id=event_id,
                amount=event.amount,
                currency=event.currency,
                refunded_at=event.refunded_at,
                reason=event.reason,
            )
        )

    await _change_order(uow, event.order_id, event.customer_id, refund)


async def record_order_cancelled(uow: OrdersUnitOfWork, event: OrderCancelled) -> None:
    await _change_order(
        uow, event.order_id, event.customer_id, lambda o, _, __: o.cancel(event.cancelled_at)
    )


async def _change_order(
    uow: OrdersUnitOfWork, order_id: str, customer_id: uuid.UUID, change: OrderChange
) -> None:
    async with uow:
        # the message's id identifies the event: a refund, the placing message
        event_id = uuid.UUID(uow.causation_id) if uow.causation_id else uuid.uuid4()
        # an event still naming a merged-away customer belongs to its survivor
        customer_id = await uow.facts.survivor_of(customer_id) or customer_id
        before = await uow.orders.lock(order_id, customer_id=customer_id)
        after = change(before, event_id, customer_id)
        if after != before:
            await uow.orders.save(after)
            # OrderPlaced may move an order that early events filed under another customer
            for owner in dict.fromkeys((after.customer_id, before.customer_id)):
                facts = OrderFacts.from_orders(await uow.orders.of_customer(owner))
                await uow.orders.save_facts(owner, facts)
                await refresh_customer(uow, owner, utcnow())
        await uow.commit()
