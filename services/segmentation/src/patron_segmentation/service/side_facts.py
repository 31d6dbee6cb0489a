"""Facts from other services' events: addresses, loyalty tier, messages sent and opened.

Each handler writes its fact and re-evaluates the customer's memberships in one transaction.
"""

from __future__ import annotations

from patron_segmentation.service.membership import refresh_customer
from patron_segmentation.service.ports import SideFactsUnitOfWork
from patron_shared.events import (
    AddressChanged,
    NotificationDelivered,
    NotificationSent,
    TierChanged,
    utcnow,
)

OPENED = frozenset({"opened", "clicked"})


async def record_address_change(uow: SideFactsUnitOfWork, event: AddressChanged) -> None:
    address = None
    if event.change != "deleted" and event.address is not None:
        address = event.address.model_dump(
            mode="json", include={"type", "is_default", "city", "state", "country"}
        )
    async with uow:
        await uow.side_facts.apply_address(event.customer_id, event.address_id, address)
        await refresh_customer(uow, event.customer_id, utcnow())
        await uow.commit()


async def record_tier_change(uow: SideFactsUnitOfWork, event: TierChanged) -> None:
    async with uow:
        await uow.side_facts.set_loyalty_tier(event.customer_id, event.tier, event.changed_at)
        await refresh_customer(uow, event.customer_id, utcnow())
        await uow.commit()


async def record_notification_sent(uow: SideFactsUnitOfWork, event: NotificationSent) -> None:
    async with uow:
        await uow.side_facts.count_message_sent(event.customer_id)
        await refresh_customer(uow, event.customer_id, utcnow())
        await uow.commit()


async def record_notification_delivered(
    uow: SideFactsUnitOfWork, event: NotificationDelivered
) -> None:
    async with uow:
        if event.status in OPENED:
            await uow.side_facts.count_message_opened(event.customer_id, event.notification_id)
            await refresh_customer(uow, event.customer_id, utcnow())
        await uow.commit()
