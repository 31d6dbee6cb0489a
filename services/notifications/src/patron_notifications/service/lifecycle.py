"""Merges, unmerges and erasure, as the notifications service sees them.

- `CustomersMerged`: the merged customer's contact names its survivor (`merged_into`:
  messages asked for it reach the survivor), the survivor takes its unsubscribes (and its
  time zone if it has none), and its delivery log moves to the survivor's, each delivery
  remembering whose it was (`domain/merges.py` states the rules).
- `CustomersUnmerged`: the restored customer stands alone again, with its deliveries and
  its own unsubscribes from before the merge; the survivor keeps its flags (an opt-out it
  took from the merge stays: the safe side).
- `CustomerDeleted`: the contact is marked deleted and, in the same transaction, what
  waits for the customer is skipped (`customer_deleted`), its request forgotten: no
  snapshot will come to plan it, and it need not wait for the expiry. What is queued for
  it (a campaign's message, say) is skipped too; one a worker is sending goes out.
- `CustomerErased`: in one transaction, the contact's personal fields are blanked and so
  are the address and rendered content of every delivery of the customer's log (including
  histories merged into it) and of its own deliveries a merge moved elsewhere; status,
  channel, template, category, times and counts stay. What was queued, being sent or
  waiting for the customer is skipped (`customer_erased`), a waiting message's request
  forgotten: a worker sending it right now records nothing over it.
  Contacts of customers merged into the erased one are erased with it (they are the same
  person now). The erased contact stays as a record without personal data, so a late
  snapshot never brings anything back.

Each handler is idempotent (the inbox drops a redelivery; the merge records make a second
event about the same merge a no-op) and tolerates merges and unmerges arriving out of
order (see `domain.merges.decide_merge` / `decide_unmerge`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from patron_notifications.domain.contact import Contact
from patron_notifications.domain.delivery import CUSTOMER_DELETED
from patron_notifications.domain.merges import (
    MergeRecord,
    PreferenceFlags,
    decide_merge,
    decide_unmerge,
    restored_preferences,
    survivor_preferences,
)
from patron_notifications.service.contacts import delete_contact_in, erase_contact_in
from patron_notifications.service.messages import (
    MAX_MERGE_HOPS,
    WaitingMessages,
    skip_waiting_messages,
)
from patron_notifications.service.ports import ContactRepository
from patron_shared.db import acknowledge_erasure
from patron_shared.db.ports import ErasingUnitOfWorkProtocol, UnitOfWorkProtocol
from patron_shared.errors import NotFound
from patron_shared.events import (
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
)
from patron_shared.logging import get_logger

# Names this service in the erasures it acknowledges (`ErasureAcknowledged.service`).
ERASURE_PARTICIPANT = "notifications"

log = get_logger("patron.notifications.lifecycle")


class MergeStore(Protocol):
    async def records_of(self, merged_customer_id: uuid.UUID) -> list[MergeRecord]: ...
    async def save_record(self, record: MergeRecord) -> None: ...
    async def ensure_contacts(self, customer_ids: Collection[uuid.UUID]) -> None: ...
    async def set_merged_into(self, customer_id: uuid.UUID, survivor: uuid.UUID | None) -> None: ...
    async def set_preferences(self, customer_id: uuid.UUID, flags: PreferenceFlags) -> None: ...
    async def family(self, root: uuid.UUID) -> set[uuid.UUID]: ...
    async def move_log(self, merged: uuid.UUID, survivor: uuid.UUID) -> int: ...
    async def give_back_log(self, restored: uuid.UUID, family: Collection[uuid.UUID]) -> int: ...
    async def erase_log(self, customer_ids: Collection[uuid.UUID]) -> int: ...
    async def forget_time_zones(self, customer_ids: Collection[uuid.UUID]) -> None: ...


class LifecycleUnitOfWork(ErasingUnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def merges(self) -> MergeStore: ...


class UnsentMessages(WaitingMessages, Protocol):
    async def skip_queued(self, customer_ids: Sequence[uuid.UUID], reason: str) -> int: ...


class DeletionUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def deliveries(self) -> UnsentMessages: ...


async def delete_customer(uow: DeletionUnitOfWork, event: CustomerDeleted) -> None:
    """The contact deleted, and its messages not sent yet skipped (`customer_deleted`): those
    waiting for it and those queued (a campaign's, say); one a worker sends at this moment
    goes out."""
    async with uow:
        await delete_contact_in(uow, event.customer_id, at=event.deleted_at)
        skipped = await skip_waiting_messages(uow.deliveries, [event.customer_id], CUSTOMER_DELETED)
        queued = await uow.deliveries.skip_queued([event.customer_id], CUSTOMER_DELETED)
        await uow.commit()
    if skipped or queued:
        log.info(
            "unsent messages of a deleted customer skipped",
            customer_id=str(event.customer_id),
            waiting=len(skipped),
            queued=queued,
        )


async def merge_contacts(uow: LifecycleUnitOfWork, event: CustomersMerged) -> None:
    if event.customer_id == event.merged_customer_id:
        return
    async with uow:
        await _lock(uow, event.customer_id, event.merged_customer_id)
        await _merge(
            uow,
            merged=event.merged_customer_id,
            survivor=event.customer_id,
            at=event.merged_at,
            merge_id=event.merge_id,
        )
        await uow.commit()


async def unmerge_contacts(uow: LifecycleUnitOfWork, event: CustomersUnmerged) -> None:
    survivor, restored = event.customer_id, event.restored_customer_id
    if survivor == restored:
        return
    async with uow:
        await _lock(uow, survivor, restored)
        records = await uow.merges.records_of(restored)
        action, record = decide_unmerge(
            records, survivor_id=survivor, unmerged_at=event.unmerged_at
        )
        if action == "apply":
            assert record is not None
            await _unmerge(uow, record, at=event.unmerged_at)
        elif action == "early":
            # its merge has not come yet (another topic): that merge will change nothing
            await uow.merges.save_record(
                MergeRecord(
                    record_id=uuid.uuid4(),
                    merged_customer_id=restored,
                    survivor_id=survivor,
                    merged_at=None,
                    unmerged_at=event.unmerged_at,
                )
            )
            log.info("unmerge before its merge", survivor=str(survivor), restored=str(restored))
        await uow.commit()


async def erase_customer(uow: LifecycleUnitOfWork, event: CustomerErased) -> None:
    async with uow:
        # a merge into this customer waits for the erasure, or is seen by it
        await uow.contacts.get(event.customer_id, for_update=True)
        family = await uow.merges.family(event.customer_id)
        for customer_id in sorted(family):  # one lock order
            await erase_contact_in(uow, customer_id, at=event.erased_at, mode=event.mode)
        await uow.merges.forget_time_zones(family)
        await uow.merges.erase_log(family)
        for customer_id in sorted(family):
            await uow.scrub_customer_messages(customer_id)
        await acknowledge_erasure(uow, event, service=ERASURE_PARTICIPANT)
        await uow.commit()


async def refuse_merged_customer(uow: LifecycleUnitOfWork, customer_id: uuid.UUID) -> None:
    """A merged customer's log lives on in its survivor's: reading the merged one answers
    404 naming the survivor (`merged_into`), as the profile answers for its tombstone."""
    async with uow:
        contact = await uow.contacts.get(customer_id)
    if contact is not None and contact.merged_into is not None:
        raise NotFound(
            f"customer {customer_id} was merged into {contact.merged_into}; "
            "its notifications are in that customer's log",
            merged_into=str(contact.merged_into),
        )


async def _lock(uow: LifecycleUnitOfWork, *customer_ids: uuid.UUID) -> None:
    """The contacts a merge or unmerge changes, created if not seen yet, locked in one order
    (no deadlock between a merge and an unmerge of the same pair)."""
    await uow.merges.ensure_contacts(set(customer_ids))
    for customer_id in sorted(set(customer_ids)):
        await uow.contacts.get(customer_id, for_update=True)


async def _merge(
    uow: LifecycleUnitOfWork,
    *,
    merged: uuid.UUID,
    survivor: uuid.UUID,
    at: datetime,
    merge_id: uuid.UUID | None,
) -> None:
    lives_in = await _resolve(uow, survivor, stop_at=merged)
    records = await uow.merges.records_of(merged)
    action, record = decide_merge(
        records,
        survivor_id=survivor,
        merged_at=at,
        survivor_lives_in=lives_in,
        merged_customer_id=merged,
    )
    if action in ("duplicate", "stale", "cycle"):
        if action == "cycle":
            log.warning(
                "merge refused: the survivor lives on in the merged customer",
                survivor=str(survivor),
                merged=str(merged),
            )
        return
    if action == "undone":
        assert record is not None
        await uow.merges.save_record(replace(record, merged_at=at, merge_id=merge_id))
        return
    if action == "replace":
        assert record is not None
        await _unmerge(uow, record, at=at)  # an unmerge not seen yet came before this merge
    merged_contact = await uow.contacts.get(merged, for_update=True)
    target = await uow.contacts.get(lives_in, for_update=True)
    # `_lock` made both
    assert merged_contact is not None
    assert target is not None
    before = _flags(merged_contact)
    await uow.merges.save_record(
        MergeRecord(
            record_id=uuid.uuid4(),
            merged_customer_id=merged,
            survivor_id=survivor,
            merged_at=at,
            merge_id=merge_id,
            email_unsubscribed_before=before.email_unsubscribed,
            sms_unsubscribed_before=before.sms_unsubscribed,
        )
    )
    await uow.merges.set_merged_into(merged, survivor)
    await uow.merges.set_preferences(lives_in, survivor_preferences(_flags(target), before))
    await uow.merges.move_log(merged, lives_in)


async def _unmerge(uow: LifecycleUnitOfWork, record: MergeRecord, *, at: datetime) -> None:
    restored = record.merged_customer_id
    await uow.merges.save_record(replace(record, unmerged_at=at))
    await uow.merges.set_merged_into(restored, None)
    contact = await uow.contacts.get(restored, for_update=True)
    now = _flags(contact) if contact is not None else PreferenceFlags()
    flags = restored_preferences(record.flags_before, now)
    family = await uow.merges.family(restored)
    # customers merged into the restored one while it was merged away gave their opt-outs
    # to where it lived then: they live on in it again, and so do their opt-outs
    for member in sorted(family - {restored}):
        merged = await uow.contacts.get(member)
        if merged is not None:
            flags = survivor_preferences(flags, _flags(merged))
    await uow.merges.set_preferences(restored, flags)
    await uow.merges.give_back_log(restored, family)


async def _resolve(
    uow: LifecycleUnitOfWork, customer_id: uuid.UUID, *, stop_at: uuid.UUID
) -> uuid.UUID:
    """The customer `customer_id` lives on in (itself unless merged away), or `stop_at`
    when the way passes through it (merging `stop_at` there would make a cycle)."""
    current, seen = customer_id, {customer_id}
    for _ in range(MAX_MERGE_HOPS):
        if current == stop_at:
            break
        contact = await uow.contacts.get(current)
        if contact is None or contact.merged_into is None or contact.merged_into in seen:
            break
        current = contact.merged_into
        seen.add(current)
    return current


def _flags(contact: Contact) -> PreferenceFlags:
    return PreferenceFlags(
        email_unsubscribed=contact.email_unsubscribed,
        sms_unsubscribed=contact.sms_unsubscribed,
        time_zone=contact.time_zone,
    )
