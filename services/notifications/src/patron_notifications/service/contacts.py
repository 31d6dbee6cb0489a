"""Contact use cases: one function per event or query, each one transaction.

Handlers are idempotent and order-tolerant: the inbox drops a redelivered message, and the
domain ignores a snapshot older than what is stored, so a late event never rolls state back.
"""

from __future__ import annotations

import uuid

from patron_notifications.domain.contact import Contact
from patron_notifications.service.ports import ContactUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerErased, CustomerUpdated


async def record_contact(uow: ContactUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
    async with uow:
        contact = await uow.contacts.get(event.customer_id, for_update=True)
        if contact is None:
            await uow.contacts.save(Contact.from_snapshot(event.customer_id, event.customer))
        elif contact.apply(event.customer):
            await uow.contacts.save(contact)
        await uow.commit()


async def delete_contact(uow: ContactUnitOfWork, event: CustomerDeleted) -> None:
    async with uow:
        contact = await uow.contacts.get(event.customer_id, for_update=True)
        if contact is None:
            await uow.contacts.save(Contact.tombstone(event.customer_id, event.deleted_at))
        elif contact.delete(at=event.deleted_at):
            await uow.contacts.save(contact)
        await uow.commit()


async def erase_contact(uow: ContactUnitOfWork, event: CustomerErased) -> None:
    """Personal data must not stay: blank it, and keep a record so it never comes back."""
    async with uow:
        contact = await uow.contacts.get(event.customer_id, for_update=True)
        if contact is None:
            erased = Contact.erased(event.customer_id, at=event.erased_at, mode=event.mode)
            await uow.contacts.save(erased)
        elif contact.erase(at=event.erased_at, mode=event.mode):
            await uow.contacts.save(contact)
        await uow.commit()


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
