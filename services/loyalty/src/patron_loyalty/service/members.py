"""Membership use cases: one function per event or query, each one transaction.

Handlers are idempotent and order-tolerant: the inbox drops a redelivered message, and the
domain ignores a snapshot older than what is stored, so a late event never rolls state back.
"""

from __future__ import annotations

import uuid

from patron_loyalty.domain.member import LoyaltyMember
from patron_loyalty.service.ports import MemberUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerUpdated


async def enroll_member(uow: MemberUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
    """Every customer is a member; an update seen before the creation enrolls as well."""
    async with uow:
        member = await uow.members.get(event.customer_id, for_update=True)
        if member is None:
            await uow.members.save(LoyaltyMember.enroll(event.customer_id, event.customer))
        elif member.apply(event.customer):
            await uow.members.save(member)
        await uow.commit()


async def close_membership(uow: MemberUnitOfWork, event: CustomerDeleted) -> None:
    async with uow:
        member = await uow.members.get(event.customer_id, for_update=True)
        if member is None:
            await uow.members.save(LoyaltyMember.tombstone(event.customer_id, event.deleted_at))
        elif member.close(at=event.deleted_at):
            await uow.members.save(member)
        await uow.commit()


async def get_member(uow: MemberUnitOfWork, customer_id: uuid.UUID) -> LoyaltyMember:
    async with uow:
        member = await uow.members.get(customer_id)
    if member is None or not member.is_enrolled:
        raise NotFound(f"no loyalty member {customer_id}")
    return member
