"""Customer-fact use cases: one function per event or query, each one transaction.

Handlers are idempotent and order-tolerant: the inbox drops a redelivered message, and the
domain ignores a snapshot older than what is stored, so a late event never rolls state back.
"""

from __future__ import annotations

import uuid

from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.service.membership import refresh_customer
from patron_segmentation.service.ports import FactsUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerUpdated, utcnow


async def record_facts(uow: FactsUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
    async with uow:
        facts = await uow.facts.get(event.customer_id, for_update=True)
        if facts is None:
            await uow.facts.save(CustomerFacts.from_snapshot(event.customer_id, event.customer))
        elif facts.apply(event.customer):
            await uow.facts.save(facts)
        else:
            await uow.commit()  # stale: the inbox keeps the event as handled
            return
        await refresh_customer(uow, event.customer_id, utcnow())
        await uow.commit()


async def delete_facts(uow: FactsUnitOfWork, event: CustomerDeleted) -> None:
    async with uow:
        facts = await uow.facts.get(event.customer_id, for_update=True)
        if facts is None:
            await uow.facts.save(CustomerFacts.tombstone(event.customer_id, event.deleted_at))
        elif facts.delete(at=event.deleted_at):
            await uow.facts.save(facts)
        await refresh_customer(uow, event.customer_id, utcnow())
        await uow.commit()


async def get_facts(uow: FactsUnitOfWork, customer_id: uuid.UUID) -> CustomerFacts:
    async with uow:
        facts = await uow.facts.get(customer_id)
    if facts is None or facts.deleted_at is not None:
        raise NotFound(f"no facts about customer {customer_id}")
    if facts.merged_into is not None:
        # as the profile answers for its tombstone: the facts are the survivor's now
        raise NotFound(
            f"customer {customer_id} was merged into {facts.merged_into}; "
            "its facts are that customer's",
            merged_into=str(facts.merged_into),
        )
    return facts
