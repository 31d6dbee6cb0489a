"""Contact use cases: one function per event or query, each one transaction.

Handlers are idempotent and order-tolerant: the inbox drops a redelivered message, and the
domain ignores a snapshot older than what is stored, so a late event never rolls state back.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.contact import Contact
from patron_notifications.service.ports import ContactUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import (
    ConsentChanged,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomerUpdated,
    OrderPlaced,
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
)
from patron_shared.events.customer import ErasureMode

PointsChange = PointsEarned | PointsRedeemed | PointsExpired | PointsAdjusted | PointsReversed


async def record_contact(uow: ContactUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
    async with uow:
        await apply_snapshot(uow, event)
        await uow.commit()


async def apply_snapshot(uow: ContactUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
    """`record_contact` inside a unit of work the caller opened (and commits)."""
    contact = await uow.contacts.get(event.customer_id, for_update=True)
    if contact is None:
        await uow.contacts.save(Contact.from_snapshot(event.customer_id, event.customer))
    elif contact.apply(event.customer):
        await uow.contacts.save(contact)


async def delete_contact(uow: ContactUnitOfWork, event: CustomerDeleted) -> None:
    async with uow:
        await delete_contact_in(uow, event.customer_id, at=event.deleted_at)
        await uow.commit()


async def delete_contact_in(
    uow: ContactUnitOfWork, customer_id: uuid.UUID, *, at: datetime
) -> None:
    """`delete_contact` inside a unit of work the caller opened (and commits)."""
    contact = await uow.contacts.get(customer_id, for_update=True)
    if contact is None:
        await uow.contacts.save(Contact.tombstone(customer_id, at))
    elif contact.delete(at=at):
        await uow.contacts.save(contact)


async def erase_contact(uow: ContactUnitOfWork, event: CustomerErased) -> None:
    """Personal data must not stay: blank it, and keep a record so it never comes back."""
    async with uow:
        await erase_contact_in(uow, event.customer_id, at=event.erased_at, mode=event.mode)
        await uow.commit()


async def erase_contact_in(
    uow: ContactUnitOfWork, customer_id: uuid.UUID, *, at: datetime, mode: ErasureMode
) -> None:
    """`erase_contact` inside a unit of work the caller opened (and commits)."""
    contact = await uow.contacts.get(customer_id, for_update=True)
    if contact is None:
        await uow.contacts.save(Contact.erased(customer_id, at=at, mode=mode))
    elif contact.erase(at=at, mode=mode):
        await uow.contacts.save(contact)


async def record_consent(uow: ContactUnitOfWork, event: ConsentChanged) -> None:
    """Marketing consent on email or SMS (the channels this service sends on)."""
    if event.purpose != "marketing" or event.channel not in ("email", "sms"):
        return
    async with uow:
        channel: Channel = "email" if event.channel == "email" else "sms"
        await uow.contacts.note_marketing_consent(
            event.customer_id, channel, granted=event.granted, at=event.changed_at
        )
        await uow.commit()


async def record_last_order(uow: ContactUnitOfWork, event: OrderPlaced) -> None:
    async with uow:
        await note_last_order(uow, event)
        await uow.commit()


async def note_last_order(uow: ContactUnitOfWork, event: OrderPlaced) -> None:
    """`record_last_order` inside a unit of work the caller opened (and commits)."""
    await uow.contacts.note_order(
        event.customer_id,
        order_id=event.order_id,
        total=event.total,
        currency=event.currency,
        placed_at=event.placed_at,
    )


async def record_points(uow: ContactUnitOfWork, event: PointsChange) -> None:
    async with uow:
        await note_points_change(uow, event)
        await uow.commit()


async def note_points_change(uow: ContactUnitOfWork, event: PointsChange) -> None:
    """`record_points` inside a unit of work the caller opened (and commits)."""
    await uow.contacts.note_points(event.customer_id, balance=event.balance, at=_when(event))


async def record_tier(uow: ContactUnitOfWork, event: TierChanged) -> None:
    async with uow:
        await note_tier_change(uow, event)
        await uow.commit()


async def note_tier_change(uow: ContactUnitOfWork, event: TierChanged) -> None:
    """`record_tier` inside a unit of work the caller opened (and commits)."""
    await uow.contacts.note_tier(event.customer_id, tier=tier_name(event), at=event.changed_at)


def tier_name(event: TierChanged) -> str:
    """The tier as customers know it (`Silver`); its key (`silver`) from an event published
    before loyalty named its tiers in them."""
    return event.tier_name or event.tier


def _when(event: PointsChange) -> datetime:
    if isinstance(event, PointsEarned):
        return event.earned_at
    if isinstance(event, PointsRedeemed):
        return event.redeemed_at
    if isinstance(event, PointsExpired):
        return event.expired_at
    if isinstance(event, PointsAdjusted):
        return event.adjusted_at
    return event.reversed_at


async def get_contact(uow: ContactUnitOfWork, customer_id: uuid.UUID) -> Contact:
    async with uow:
        contact = await uow.contacts.get(customer_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"no contact for customer {customer_id}")
    return contact


async def list_contacts(
    uow: ContactUnitOfWork, *, offset: int, limit: int
) -> tuple[list[Contact], int]:
    """Contacts of customers that still exist, newest first, and how many there are."""
    async with uow:
        return await uow.contacts.list_page(offset=offset, limit=limit)
