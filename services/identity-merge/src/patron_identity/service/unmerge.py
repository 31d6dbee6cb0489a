"""Unmerge: undo a merge the identity graph recorded.

The identifiers that came from the merged customer (those the survivor still holds) go back
to it, it stands on its own again, the merge is marked undone, and `CustomersUnmerged` tells
the profile to split the records. The pair is marked as different people so matching never
suggests it again. See `domain/lineage.py` for when an unmerge is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.lineage import MergeRecord
from patron_identity.service.matching import mark_not_duplicates, refresh_matching
from patron_identity.service.ports import CustomerUnitOfWork
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import CustomersUnmerged
from patron_shared.events.identity import MovedIdentifier


@dataclass(frozen=True)
class UnmergeRequest:
    """Either the merge's id, or the pair it joined (its newest merge is undone)."""

    merge_id: uuid.UUID | None = None
    survivor_id: uuid.UUID | None = None
    merged_customer_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        by_pair = self.survivor_id is not None or self.merged_customer_id is not None
        if self.merge_id is not None and by_pair:
            raise InvalidInput("merge_id", "give either merge_id or the two customer ids")
        if self.merge_id is None and (self.survivor_id is None or self.merged_customer_id is None):
            missing = "survivor_id" if self.survivor_id is None else "merged_customer_id"
            raise InvalidInput(missing, "give merge_id, or both survivor_id and merged_customer_id")


async def unmerge(
    uow: CustomerUnitOfWork,
    request: UnmergeRequest,
    *,
    unmerged_by: str,
    now: datetime | None = None,
) -> MergeRecord:
    """Undo the merge; returns it as it now stands (unmerged_at/by set)."""
    at = now or datetime.now(UTC)
    async with uow:
        merge = await _find_merge(uow, request)
        survivor, restored = await _lock_pair(uow, merge)
        if restored.deleted_at is not None or survivor.deleted_at is not None:
            gone = restored if restored.deleted_at is not None else survivor
            raise Conflict(
                f"customer {gone.customer_id} was deleted: the merge cannot be undone",
                merge_id=str(merge.merge_id),
            )
        merge.unmerge(at=at, by=unmerged_by, survivor_merged_into=survivor.merged_into)

        transferred = await uow.lineage.moved(merge.merge_id)
        sources = {t.identifier: t.source for t in transferred}
        given_back = await uow.identifiers.give_back(
            sources, from_customer=survivor.customer_id, to_customer=restored.customer_id
        )
        restored.restore()
        await uow.lineage.mark_unmerged(merge)
        for customer in (survivor, restored):
            await uow.customers.save(customer)
        await mark_not_duplicates(
            uow, survivor.customer_id, restored.customer_id, decided_by=unmerged_by
        )
        for customer in (survivor, restored):
            await refresh_matching(uow, customer)

        moved = [MovedIdentifier(kind=i.kind, value=i.value, source=sources[i]) for i in given_back]
        uow.emit(
            CustomersUnmerged(
                customer_id=survivor.customer_id,
                restored_customer_id=restored.customer_id,
                unmerged_at=at,
                unmerged_by=unmerged_by,
                identifiers=moved,
            )
        )
        await uow.audit.record(
            actor=unmerged_by,
            action="identity.unmerge",
            customer_id=survivor.customer_id,
            details={
                "merge_id": str(merge.merge_id),
                "restored_customer_id": str(restored.customer_id),
                "identifiers_moved": len(moved),
            },
            at=at,
        )
        await uow.commit()
    return merge


async def _find_merge(uow: CustomerUnitOfWork, request: UnmergeRequest) -> MergeRecord:
    if request.merge_id is not None:
        merge = await uow.lineage.get(request.merge_id, for_update=True)
        if merge is None:
            raise NotFound(f"merge {request.merge_id} not found")
        return merge
    assert request.survivor_id is not None
    assert request.merged_customer_id is not None
    merges = await uow.lineage.between(
        request.survivor_id, request.merged_customer_id, for_update=True
    )
    if not merges:
        raise NotFound(
            f"no merge of customer {request.merged_customer_id} into {request.survivor_id}"
        )
    # The active one if there is one; else the newest, which `unmerge` refuses as undone.
    return next((m for m in merges if m.is_active), merges[0])


async def _lock_pair(
    uow: CustomerUnitOfWork, merge: MergeRecord
) -> tuple[IdentityCustomer, IdentityCustomer]:
    """Both customers, locked in id order as the merge handler locks them."""
    locked: dict[uuid.UUID, IdentityCustomer] = {}
    for customer_id in sorted((merge.survivor_id, merge.merged_customer_id)):
        found = await uow.customers.get(customer_id, for_update=True)
        locked[customer_id] = found or IdentityCustomer.placeholder(customer_id)
    return locked[merge.survivor_id], locked[merge.merged_customer_id]
