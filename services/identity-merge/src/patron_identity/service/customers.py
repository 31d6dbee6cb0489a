"""Customer use cases: one function per event or query, each one transaction.

Handlers are idempotent and order-tolerant: the inbox drops a redelivered message, and the
domain ignores a snapshot older than what is stored, so a late event never rolls state back.
"""

from __future__ import annotations

import uuid

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.identifiers import CustomerIdentifiers
from patron_identity.service.ports import CustomerUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerErased, CustomerUpdated


async def record_customer(
    uow: CustomerUnitOfWork, event: CustomerCreated | CustomerUpdated
) -> None:
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            await uow.customers.save(
                IdentityCustomer.from_snapshot(event.customer_id, event.customer)
            )
        elif customer.apply(event.customer):
            await uow.customers.save(customer)
        await uow.commit()


async def delete_customer(uow: CustomerUnitOfWork, event: CustomerDeleted) -> None:
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            await uow.customers.save(
                IdentityCustomer.tombstone(event.customer_id, event.deleted_at)
            )
        elif customer.delete(at=event.deleted_at):
            await uow.customers.save(customer)
        await uow.commit()


async def erase_customer(uow: CustomerUnitOfWork, event: CustomerErased) -> None:
    """Personal data must not stay: blank it, and keep a record so it never comes back."""
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            erased = IdentityCustomer.erased(event.customer_id, at=event.erased_at, mode=event.mode)
            await uow.customers.save(erased)
        elif customer.erase(at=event.erased_at, mode=event.mode):
            await uow.customers.save(customer)
        await uow.commit()


async def get_identifiers(uow: CustomerUnitOfWork, customer_id: uuid.UUID) -> CustomerIdentifiers:
    async with uow:
        customer = await uow.customers.get(customer_id)
    if customer is None or customer.deleted_at is not None:
        raise NotFound(f"customer {customer_id} not found")
    return customer.identifiers
