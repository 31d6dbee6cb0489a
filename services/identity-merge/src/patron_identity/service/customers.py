"""Customer use cases: one function per event or query, each one transaction.

Handlers are idempotent and order-tolerant: the inbox drops a redelivered message, and the
domain ignores a snapshot older than what is stored, so a late event never rolls state back.
Every change of a customer ends with `refresh_matching` in the same transaction, so duplicate
screening never lags the graph.
"""

from __future__ import annotations

import uuid

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.identifiers import (
    PROFILE_SOURCE,
    CustomerIdentifiers,
    identifiers_to_release,
)
from patron_identity.domain.lineage import CustomerGraph, MergeHistoryEntry, MergeRecord
from patron_identity.domain.matching import NormalizationRules
from patron_identity.service.matching import refresh_matching
from patron_identity.service.ports import CustomerUnitOfWork, SourceProfileUnitOfWork
from patron_shared.db import acknowledge_erasure
from patron_shared.errors import NotFound
from patron_shared.events import (
    AddressChanged,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomerUpdated,
)
from patron_shared.logging import get_logger

log = get_logger("patron.identity.customers")

# Names this service in the erasures it acknowledges (`ErasureAcknowledged.service`).
ERASURE_PARTICIPANT = "identity"


async def record_customer(
    uow: CustomerUnitOfWork,
    event: CustomerCreated | CustomerUpdated,
    *,
    rules: NormalizationRules,
) -> None:
    """Take the profile's snapshot, and claim the identifiers it names for the customer."""
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            customer = IdentityCustomer.from_snapshot(event.customer_id, event.customer)
        elif not customer.apply(event.customer):
            await uow.commit()
            return
        await uow.customers.save(customer)
        await _claim_profile_identifiers(uow, customer, rules)
        await refresh_matching(uow, customer)
        await uow.commit()


async def change_address(uow: CustomerUnitOfWork, event: AddressChanged) -> None:
    """Follow the customer's addresses; the matching address is recomputed from them."""
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            customer = IdentityCustomer.placeholder(event.customer_id)
        if customer.change_address(event):
            await uow.customers.save(customer)
            await refresh_matching(uow, customer)
        await uow.commit()


async def delete_customer(uow: CustomerUnitOfWork, event: CustomerDeleted) -> None:
    """A deleted customer owns nothing: its identifiers are free for others to claim."""
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            customer = IdentityCustomer.tombstone(event.customer_id, event.deleted_at)
        elif not customer.delete(at=event.deleted_at):
            await uow.commit()
            return
        await uow.customers.save(customer)
        await uow.identifiers.release_all(customer.customer_id)
        await refresh_matching(uow, customer)
        await uow.commit()


async def erase_customer(uow: SourceProfileUnitOfWork, event: CustomerErased) -> None:
    """Personal data must not stay: blank the features, drop the identifiers (those it holds
    from merges too), the merge records' copies of them and the source's id of the customer
    in remembered deliveries; keep only the record that keeps a late snapshot out and the
    merges' ids."""
    async with uow:
        customer = await uow.customers.get(event.customer_id, for_update=True)
        if customer is None:
            customer = IdentityCustomer.erased(
                event.customer_id, at=event.erased_at, mode=event.mode
            )
            await uow.customers.save(customer)
        elif customer.erase(at=event.erased_at, mode=event.mode):
            await uow.customers.save(customer)
        # Unconditional: an identifier claimed since an earlier erasure goes as well.
        await uow.identifiers.release_all(customer.customer_id)
        await uow.lineage.forget_moves_of(customer.customer_id)
        await uow.source_deliveries.forget_customer(customer.customer_id)
        await refresh_matching(uow, customer)
        await acknowledge_erasure(uow, event, service=ERASURE_PARTICIPANT)
        await uow.commit()


async def merge_customers(uow: CustomerUnitOfWork, event: CustomersMerged) -> None:
    """The profile merged two customers: the merged one's identifiers go to the survivor, and
    the merge is recorded with what moved, so that an unmerge can give them back."""
    merge = MergeRecord.of(event)
    if merge.survivor_id == merge.merged_customer_id:
        log.warning("merge of a customer into itself ignored", merge_id=str(merge.merge_id))
        return
    async with uow:
        # Locked in id order: two merges touching the same customers never deadlock.
        locked: dict[uuid.UUID, IdentityCustomer] = {}
        for customer_id in sorted((merge.survivor_id, merge.merged_customer_id)):
            found = await uow.customers.get(customer_id, for_update=True)
            locked[customer_id] = found or IdentityCustomer.placeholder(customer_id)
        if not await uow.lineage.add(merge):  # this merge was recorded before
            await uow.commit()
            return
        survivor, merged = locked[merge.survivor_id], locked[merge.merged_customer_id]
        moved = await uow.identifiers.repoint(merged.customer_id, survivor.customer_id)
        await uow.lineage.record_moves(merge.merge_id, moved)
        merged.merge_into(survivor.customer_id)
        for customer in (survivor, merged):
            await uow.customers.save(customer)
            await refresh_matching(uow, customer)
        await uow.commit()


async def get_identifiers(uow: CustomerUnitOfWork, customer_id: uuid.UUID) -> CustomerIdentifiers:
    async with uow:
        customer = await uow.customers.get(customer_id)
    if customer is None or customer.deleted_at is not None:
        raise NotFound(f"customer {customer_id} not found")
    return customer.identifiers


async def get_graph(uow: CustomerUnitOfWork, customer_id: uuid.UUID) -> CustomerGraph:
    """The customer's identifiers and the merges into or out of it, oldest first."""
    async with uow:
        customer = await uow.customers.get(customer_id)
        if customer is None or customer.deleted_at is not None:
            raise NotFound(f"customer {customer_id} not found")
        owned = await uow.identifiers.owned_by(customer_id)
        merges = [
            MergeHistoryEntry(merge, await uow.lineage.moved(merge.merge_id))
            for merge in await uow.lineage.history_of(customer_id)
        ]
    return CustomerGraph(
        customer_id=customer_id,
        merged_into=customer.merged_into,
        identifiers=owned,
        merges=merges,
    )


async def _claim_profile_identifiers(
    uow: CustomerUnitOfWork, customer: IdentityCustomer, rules: NormalizationRules
) -> None:
    """Claim what the profile record names (an identifier another customer owns stays
    theirs: matching judges shared identifiers) and release what it no longer names."""
    if not customer.is_active:
        return  # a merged-away customer's identifiers belong to its survivor
    current = customer.claimable_identifiers(rules)
    for identifier in current:  # sorted, as resolve claims: concurrent claims never deadlock
        await uow.identifiers.claim(identifier, customer.customer_id, source=PROFILE_SOURCE)
    released = identifiers_to_release(
        await uow.identifiers.owned_by(customer.customer_id),
        set(current),
        await uow.lineage.held_through_merges(customer.customer_id),
    )
    if released:
        await uow.identifiers.release(customer.customer_id, released)
