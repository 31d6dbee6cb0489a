"""Merges, unmerges and erasure, as the points ledger sees them.

- `CustomersMerged`: the merged customer's open lots move to the survivor (merge_out on
  one side, merge_in on the other, each lot keeping its dates), its orders follow (later
  refunds reverse from the survivor), its open holds are cancelled, and the survivor's tier
  counts the points both earned. Order events that still name the merged customer count
  for the survivor.
- `CustomersUnmerged`: the lots the merge moved and that are still unspent go back, with
  the orders; each side's tier is reviewed.
- `CustomerErased`: operators' free-text reasons and the card number go; the amounts stay
  for accounting.
"""

from __future__ import annotations

import uuid

from patron_loyalty.domain.account import LoyaltyAccount
from patron_loyalty.domain.program import Program
from patron_loyalty.service.points import program_of, settle_account
from patron_loyalty.service.ports import PointsUnitOfWork
from patron_shared.db import acknowledge_erasure
from patron_shared.events import CustomerErased, CustomersMerged, CustomersUnmerged, utcnow

# Names the points ledger in the erasures it acknowledges (`ErasureAcknowledged.service`).
POINTS_ERASURE_PARTICIPANT = "loyalty.points"


async def merge_points(uow: PointsUnitOfWork, event: CustomersMerged) -> None:
    survivor, merged = event.customer_id, event.merged_customer_id
    if survivor == merged:
        return
    async with uow:
        program = await program_of(uow)
        now = utcnow()
        accounts = await _lock_both(uow, program, survivor, merged)
        await uow.points.record_merge(merged, survivor, now)
        await uow.points.cancel_holds(merged, now)
        source, target = await uow.points.ledger(merged), await uow.points.ledger(survivor)
        _, lots = source.give_all(survivor, at=now)
        target.receive(lots, source=merged, at=now)
        await uow.points.save_ledger(source)
        await uow.points.save_ledger(target)
        await uow.points.move_orders(merged, survivor)
        accounts[merged].balance = source.balance  # a tombstone: no tier of its own to review
        await uow.points.save_account(accounts[merged])
        await settle_account(uow, program, accounts[survivor], target, now, None)
        await uow.commit()


async def unmerge_points(uow: PointsUnitOfWork, event: CustomersUnmerged) -> None:
    survivor, restored = event.customer_id, event.restored_customer_id
    if survivor == restored:
        return
    async with uow:
        program = await program_of(uow)
        now = utcnow()
        accounts = await _lock_both(uow, program, survivor, restored)
        await uow.points.record_unmerge(restored, now)
        holder, owner = await uow.points.ledger(survivor), await uow.points.ledger(restored)
        _, lots = holder.give_back(restored, at=now)
        owner.receive(lots, source=survivor, at=now, reason="unmerged: back from the survivor")
        await uow.points.save_ledger(holder)
        await uow.points.save_ledger(owner)
        await uow.points.move_orders_back(restored, survivor)
        await settle_account(uow, program, accounts[survivor], holder, now, None)
        await settle_account(uow, program, accounts[restored], owner, now, None)
        await uow.commit()


async def erase_points(uow: PointsUnitOfWork, event: CustomerErased) -> None:
    async with uow:
        await uow.points.cancel_holds(event.customer_id, utcnow())
        await uow.points.erase_personal_references(event.customer_id)
        await acknowledge_erasure(uow, event, service=POINTS_ERASURE_PARTICIPANT)
        await uow.commit()


async def _lock_both(
    uow: PointsUnitOfWork, program: Program, first: uuid.UUID, second: uuid.UUID
) -> dict[uuid.UUID, LoyaltyAccount]:
    now = utcnow()
    return {
        customer_id: await uow.points.lock_account(customer_id, program.entry_tier, now)
        for customer_id in sorted((first, second))  # one lock order: no deadlocks
    }
