"""Merge and unmerge use cases (commands from identity-merge), each one transaction.

A merge folds the secondary into the primary (`domain.merge`) and leaves the secondary as a
tombstone naming its survivor; a `MergeRecord` keeps what moved, and the copies it writes
name it as their author. An unmerge gives exactly that back from the newest merge of the
pair. Both are safe to repeat and never fail on a
command that cannot apply (unknown, deleted or already merged customers): those are logged
and acknowledged, because a retry would find the same state.

Rows are locked in id order, whichever side a command names first, so a merge and an
unmerge of the same two customers never wait on each other in a cycle. Writes that would
break the one-live-customer-per-email rule are ordered: the secondary becomes a tombstone
before the primary takes its email, and the survivor lets go of a filled email before the
restored customer is live again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from patron_profile.domain.consent import (
    CHANNELS,
    MARKETING_PURPOSE,
    ConsentEntry,
    apply_entry,
    is_granted,
)
from patron_profile.domain.customer import Customer
from patron_profile.domain.group import Assignment
from patron_profile.domain.merge import (
    ConsentMove,
    MergeRecord,
    absorb_fields,
    give_back_fields,
    merge_author,
)
from patron_profile.service.consents import record_entry
from patron_profile.service.merge_moves import (
    copy_metadata,
    delete_metadata_copies,
    move_addresses,
)
from patron_profile.service.orders import count_uncounted_orders
from patron_profile.service.ports import MergeUnitOfWork
from patron_shared.events import (
    ConsentChanged,
    CustomersMerged,
    CustomersUnmerged,
    MergeCustomers,
    utcnow,
)
from patron_shared.logging import get_logger

Clock = Callable[[], datetime]
MERGE_SOURCE = "merge"
log = get_logger("patron.profile.merges")


class MergeRaced(Exception):
    """The primary was merged away while this merge waited for its lock: try again (the
    retry merges into the new survivor)."""


async def merge_customers(
    uow: MergeUnitOfWork, command: MergeCustomers, *, clock: Clock = utcnow
) -> MergeRecord | None:
    """Merge `command.secondary_id` into `command.customer_id`; the record of what moved,
    or None when there was nothing to merge."""
    async with uow:
        record = await _merge(uow, command, now=clock())
        await uow.commit()  # a no-op too: the inbox keeps the command as handled
    return record


async def unmerge_customers(
    uow: MergeUnitOfWork, event: CustomersUnmerged, *, clock: Clock = utcnow
) -> MergeRecord | None:
    """Undo the newest merge of `event.restored_customer_id` into `event.customer_id`."""
    async with uow:
        record = await _unmerge(uow, event, now=clock())
        await uow.commit()
    return record


async def _merge(
    uow: MergeUnitOfWork, command: MergeCustomers, *, now: datetime
) -> MergeRecord | None:
    primary_id = await uow.customers.survivor_of(command.customer_id) or command.customer_id
    secondary_id = command.secondary_id
    if primary_id == secondary_id:
        log.warning("merge ignored: both sides are one customer", customer_id=str(primary_id))
        return None
    primary, secondary = await _lock_pair(uow, primary_id, secondary_id)
    if primary is None or primary.deleted_at is not None:
        if primary is not None and primary.merged_into is not None:
            raise MergeRaced(f"customer {primary_id} was merged away meanwhile")
        log.warning("merge ignored: no such live primary", customer_id=str(primary_id))
        return None
    if secondary is None or secondary.deleted_at is not None:
        if secondary is not None and secondary.merged_into is not None:
            into = await uow.customers.survivor_of(secondary_id)
            if into == primary_id:
                log.info("merge ignored: already merged", secondary_id=str(secondary_id))
                return None
        log.warning("merge ignored: no such live secondary", secondary_id=str(secondary_id))
        return None

    record = MergeRecord(
        merge_id=uuid.uuid4(),
        primary_id=primary.id,
        secondary_id=secondary.id,
        merged_at=now,
        merged_by=command.requested_by,
        rule=command.rule,
        score=command.score,
        suggestion_id=command.suggestion_id,
    )
    transfer = absorb_fields(primary, secondary)
    record.filled_fields = dict(transfer.filled)
    record.added_tags = list(transfer.added_tags)
    record.added_external_ids = dict(transfer.added_external_ids)
    # The tombstone first: its email is free for the primary to take.
    secondary.merge_into(primary.id, now=now)
    await uow.customers.save(secondary)

    changes = dict(transfer.changes)
    record.consent_changes = await _take_consents(uow, primary, secondary, record, now=now)
    if any(move.purpose == MARKETING_PURPOSE for move in record.consent_changes):
        marketing = await uow.consents.current(primary.id, MARKETING_PURPOSE)
        changes["accepts_marketing"] = is_granted(marketing)
    primary.update(changes, now=now)
    if "group_id" in transfer.filled:
        assignment = await uow.groups.assignment_of(secondary.id)
        await uow.groups.record_assignments(
            {primary.id: assignment or Assignment(transfer.filled["group_id"], "manual")}
        )
    await uow.customers.save(primary)

    record.moved_addresses = await move_addresses(
        uow, secondary, primary, announce_on=primary, now=now
    )
    await copy_metadata(uow, secondary, primary, merge_id=record.merge_id, now=now)
    record.moved_note_ids = await uow.merges.move_notes(secondary.id, primary.id)
    record.moved_order_ids = await uow.merges.move_orders(secondary.id, primary.id)
    # Statistics from the orders each now owns: nothing counted twice.
    await count_uncounted_orders(uow, primary)
    # Straight to the row: a tombstone is in no group and announces nothing.
    secondary.stats = await uow.orders.stats_for(secondary.id)
    await uow.customers.save(secondary)
    await uow.merges.add(record)
    primary.events.append(
        CustomersMerged(
            customer_id=primary.id,
            merged_customer_id=secondary.id,
            merged_at=now,
            merged_by=command.requested_by,
            merge_id=record.merge_id,
            rule=command.rule,
            score=command.score,
            suggestion_id=command.suggestion_id,
        )
    )
    log.info("customers merged", merge_id=str(record.merge_id), secondary_id=str(secondary.id))
    return record


async def _unmerge(
    uow: MergeUnitOfWork, event: CustomersUnmerged, *, now: datetime
) -> MergeRecord | None:
    record = await uow.merges.latest(event.customer_id, event.restored_customer_id)
    if record is None or record.unmerged_at is not None:
        log.warning(
            "unmerge ignored: no merge of the pair left to undo",
            customer_id=str(event.customer_id),
            restored_customer_id=str(event.restored_customer_id),
        )
        return None
    # Merged on since: what moved sits with the primary's own survivor.
    holder_id = await uow.customers.survivor_of(record.primary_id) or record.primary_id
    holder, restored = await _lock_pair(uow, holder_id, record.secondary_id)
    if holder is None or holder.deleted_at is not None or restored is None:
        log.warning("unmerge ignored: the survivor is gone", customer_id=str(holder_id))
        return None
    if restored.merged_into != record.primary_id:
        log.warning("unmerge ignored: not a tombstone of this merge", merge_id=str(record.merge_id))
        return None

    changes = give_back_fields(holder, record)
    marketing = await _give_back_consents(uow, holder, record, now=now)
    if marketing is not None:
        changes["accepts_marketing"] = marketing
    holder.update(changes, now=now)
    if "group_id" in changes:
        await uow.groups.record_assignments({holder.id: None})
    await uow.customers.save(holder)  # lets go of a filled email first
    # a customer that took the email since the merge keeps it: emails are unique per tenant
    owner = await uow.customers.email_owner(restored.email) if restored.email else None
    email_taken = owner is not None and owner != restored.id
    if email_taken:
        log.warning(
            "unmerge restores the customer without its email: another customer holds it now",
            restored_id=str(restored.id),
            email_owner=str(owner),
        )
    restored.restore_from_merge(now=now, email_taken=email_taken)
    await uow.customers.save(restored)

    await move_addresses(
        uow,
        holder,
        restored,
        announce_on=restored,
        now=now,
        only={m.address_id: m.was_default for m in record.moved_addresses},
    )
    await delete_metadata_copies(uow, record.primary_id, merge_id=record.merge_id)
    await uow.merges.move_notes(holder.id, restored.id, record.moved_note_ids)
    await uow.merges.move_orders(holder.id, restored.id, record.moved_order_ids)
    await count_uncounted_orders(uow, holder)
    await count_uncounted_orders(uow, restored)
    await uow.merges.mark_unmerged(record.merge_id, at=now, by=event.unmerged_by)
    record.unmerged_at, record.unmerged_by = now, event.unmerged_by
    log.info("customers unmerged", merge_id=str(record.merge_id), restored_id=str(restored.id))
    return record


async def _lock_pair(
    uow: MergeUnitOfWork, first_id: uuid.UUID, second_id: uuid.UUID
) -> tuple[Customer | None, Customer | None]:
    """Both customers, live or not, locked in id order (never a lock cycle)."""
    locked: dict[uuid.UUID, Customer | None] = {}
    for customer_id in sorted((first_id, second_id)):
        locked[customer_id] = await uow.customers.get(
            customer_id, for_update=True, include_removed=True
        )
    return locked[first_id], locked[second_id]


async def _take_consents(
    uow: MergeUnitOfWork,
    primary: Customer,
    secondary: Customer,
    record: MergeRecord,
    *,
    now: datetime,
) -> list[ConsentMove]:
    """Per purpose, the newest decision wins: where it is the secondary's, a copy of it
    joins the primary's history and becomes its state."""
    moves: list[ConsentMove] = []
    for theirs in await uow.consents.list_current(secondary.id):
        ours = await uow.consents.current(primary.id, theirs.purpose)
        copy = ConsentEntry(
            id=uuid.uuid4(),
            customer_id=primary.id,
            purpose=theirs.purpose,
            granted=theirs.granted,
            occurred_at=theirs.occurred_at,
            source=theirs.source,
            recorded_at=now,
            recorded_by=merge_author(record.merge_id),
        )
        if not apply_entry(ours, copy).applied:
            continue
        await record_entry(uow, primary, copy, ours)
        moves.append(ConsentMove(theirs.purpose, copy.id, ours))
    return moves


async def _give_back_consents(
    uow: MergeUnitOfWork, holder: Customer, record: MergeRecord, *, now: datetime
) -> bool | None:
    """Withdraw the merge's consent copies; where one is still the holder's state, the
    state before the merge comes back. Returns the marketing grant when it changed."""
    marketing: bool | None = None
    if holder.id != record.primary_id:
        return None  # the copies stay with the primary's tombstone; the holder has its own
    for move in record.consent_changes:
        current = await uow.consents.current(holder.id, move.purpose)
        still_current = current is not None and current.entry_id == move.entry_id
        await uow.merges.withdraw_consent_copy(holder.id, move, restore=still_current)
        if not still_current:
            continue
        if move.previous is not None:
            await uow.consents.put_current(move.previous)
        granted = is_granted(move.previous)
        if move.purpose == MARKETING_PURPOSE:
            marketing = granted
        mapped = CHANNELS.get(move.purpose)
        if mapped is not None and granted != is_granted(current):
            channel, purpose = mapped
            holder.events.append(
                ConsentChanged(
                    customer_id=holder.id,
                    channel=channel,
                    purpose=purpose,
                    granted=granted,
                    changed_at=move.previous.occurred_at if move.previous else now,
                    source=move.previous.source if move.previous else MERGE_SOURCE,
                )
            )
    return marketing
