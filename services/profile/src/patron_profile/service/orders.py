"""Order use cases: keep each customer's order statistics exact under redelivery."""

from __future__ import annotations

import uuid

from patron_profile.domain.customer import Customer
from patron_profile.service.ports import CustomerUnitOfWork
from patron_shared.events import OrderPlaced


async def record_order_placed(uow: CustomerUnitOfWork, event: OrderPlaced) -> None:
    """Count a placed order once: per message (inbox) and per order id (orders table)."""
    async with uow:
        event_id = uuid.UUID(uow.causation_id) if uow.causation_id else uuid.uuid4()
        # Locking the customer first serialises its concurrent orders. An unknown customer's
        # order is kept uncounted and counted when the customer is created.
        customer = await uow.customers.get(event.customer_id, for_update=True)
        is_new = await uow.customers.record_order(
            event, event_id=event_id, counted=customer is not None
        )
        if is_new and customer is not None:
            customer.record_order(
                total=event.total, currency=event.currency, placed_at=event.placed_at
            )
            await uow.customers.save(customer)
        await uow.commit()


async def count_uncounted_orders(uow: CustomerUnitOfWork, customer: Customer) -> None:
    pending = await uow.customers.uncounted_orders(customer.id)
    if not pending:
        return
    for order in pending:
        customer.record_order(total=order.total, currency=order.currency, placed_at=order.placed_at)
    await uow.customers.save(customer)
    await uow.customers.mark_orders_counted([order.order_id for order in pending])
