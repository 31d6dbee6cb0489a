"""What a merge moves or copies to the primary besides fields, and an unmerge gives back:
addresses and metadata.

Addresses keep their ids as they move, so an unmerge finds them again. They go through both
customers' address books, so the default rules hold on each side and every change is
announced as AddressChanged, as an edit through the API would be. An address the primary
has already (same type, same place) stays with the tombstone, so the survivor holds it once
and an unmerge finds it where it was.

Metadata is copied: the secondary keeps its entries for an unmerge, and the primary gains
those of keys it lacks, written by the merge (`merge_author`); an unmerge deletes the
copies nobody rewrote since.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from patron_profile.domain.address import (
    MAX_ADDRESSES_PER_CUSTOMER,
    POSTAL_FIELDS,
    Address,
    AddressBook,
    same_address,
)
from patron_profile.domain.customer import Customer
from patron_profile.domain.merge import MovedAddress, merge_author, metadata_to_copy
from patron_profile.service.ports import AddressUnitOfWork, MetadataUnitOfWork
from patron_shared.logging import get_logger

log = get_logger("patron.profile.merges")


async def move_addresses(
    uow: AddressUnitOfWork,
    source: Customer,
    target: Customer,
    *,
    announce_on: Customer,
    now: datetime,
    only: dict[uuid.UUID, bool] | None = None,
) -> list[MovedAddress]:
    """Move `source`'s addresses (all but those `target` has already, or those `only`
    names, with whether each is to be a default of its type again) to `target`; what moved,
    with whether each was a default.

    The events go out with `announce_on`'s own, after them. Addresses beyond the target's
    limit stay where they are (logged): a merge is not refused for them.
    """
    from_book = await uow.addresses.get_book(source.id)
    to_book = await uow.addresses.get_book(target.id)
    if only is None:
        moving = [a for a in from_book.addresses if not _held_already(a, to_book)]
    else:
        moving = [a for a in from_book.addresses if a.id in only]
    room = MAX_ADDRESSES_PER_CUSTOMER - len(to_book.addresses)
    if len(moving) > room:
        log.warning("addresses left behind: the target is full", left=len(moving) - room)
        moving = moving[: max(room, 0)]
    was_default = {a.id: a.is_default for a in moving}
    # Non-defaults leave first: a leaving default then never promotes one that leaves too.
    for address in sorted(moving, key=lambda a: a.is_default):
        from_book.remove(address.id, now=now)
    # Defaults arrive first: where the target has none of their type they become its
    # default, as they were; the others then join without taking it.
    wanted_default = only if only is not None else was_default
    for address in sorted(moving, key=lambda a: not wanted_default[a.id]):
        make_default = only is not None and only[address.id]
        to_book.add(
            replace(address, customer_id=target.id, updated_at=now), make_default=make_default
        )
    moved = [MovedAddress(a.id, was_default[a.id]) for a in moving]
    # The rows leave before they arrive: same ids.
    await uow.addresses.save_book(from_book)
    await uow.addresses.save_book(to_book)
    announce_on.events.extend([*from_book.pull_events(), *to_book.pull_events()])
    return moved


def _held_already(address: Address, book: AddressBook) -> bool:
    place = {name: getattr(address, name) for name in POSTAL_FIELDS}
    return any(kept.type == address.type and same_address(kept, place) for kept in book.addresses)


async def copy_metadata(
    uow: MetadataUnitOfWork,
    source: Customer,
    target: Customer,
    *,
    merge_id: uuid.UUID,
    now: datetime,
) -> list[str]:
    """Copy `source`'s metadata entries of keys `target` lacks to it; the keys copied."""
    copies = metadata_to_copy(
        target.id,
        await uow.metadata.list_for_customer(target.id),
        await uow.metadata.list_for_customer(source.id),
        merge_id=merge_id,
        now=now,
    )
    for entry in copies:
        await uow.metadata.upsert(entry)
    return [entry.key for entry in copies]


async def delete_metadata_copies(
    uow: MetadataUnitOfWork, primary_id: uuid.UUID, *, merge_id: uuid.UUID
) -> list[str]:
    """Delete the primary's entries the merge copied and nobody wrote since (a survivor
    it was merged into since holds copies of its own); their keys."""
    author = merge_author(merge_id)
    copies = [
        entry.key
        for entry in await uow.metadata.list_for_customer(primary_id)
        if entry.updated_by == author
    ]
    for key in copies:
        await uow.metadata.delete(primary_id, key)
    return copies
