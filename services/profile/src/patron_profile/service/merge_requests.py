"""A merge asked for over HTTP: the same flow as the `MergeCustomers` command, with answers.

The command is acknowledged whatever the state (a retry would find the same); a request is
told why it cannot apply: 422 for one customer named twice, 404 for a customer that does
not exist, 409 for one merged elsewhere or deleted. Asking again for a merge that is done
answers that merge: the request is idempotent.
"""

from __future__ import annotations

import uuid

from patron_profile.domain.merge import MergeRecord
from patron_profile.service.merges import Clock, MergeRaced, merge_customers
from patron_profile.service.ports import MergeUnitOfWork
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import MergeCustomers, utcnow


async def request_merge(
    uow: MergeUnitOfWork,
    primary_id: uuid.UUID,
    secondary_id: uuid.UUID,
    *,
    requested_by: str | None,
    clock: Clock = utcnow,
) -> MergeRecord:
    """Merge `secondary_id` into `primary_id`, or the merge of the pair already done."""
    if primary_id == secondary_id:
        raise InvalidInput("secondary_id", "must be another customer than primary_id")
    done = await _check(uow, primary_id, secondary_id)
    if done is not None:
        return done
    command = MergeCustomers(
        customer_id=primary_id, secondary_id=secondary_id, requested_by=requested_by
    )
    try:
        record = await merge_customers(uow, command, clock=clock)
    except MergeRaced:
        record = None
    if record is not None:
        return record
    # Something changed between the check and the merge: say what, as the check would.
    done = await _check(uow, primary_id, secondary_id)
    if done is not None:
        return done
    raise Conflict(f"customers {primary_id} and {secondary_id} could not be merged; try again")


async def _check(
    uow: MergeUnitOfWork, primary_id: uuid.UUID, secondary_id: uuid.UUID
) -> MergeRecord | None:
    """The merge of the pair when it is done; None when it can go ahead; else the error."""
    async with uow:
        primary = await uow.customers.get(primary_id, include_removed=True)
        secondary = await uow.customers.get(secondary_id, include_removed=True)
        if primary is None:
            raise NotFound(f"customer {primary_id} not found", field="primary_id")
        if secondary is None:
            raise NotFound(f"customer {secondary_id} not found", field="secondary_id")
        if secondary.merged_into is not None:
            record = await uow.merges.latest(primary_id, secondary_id)
            if record is not None and record.unmerged_at is None:
                return record
            survivor = await uow.customers.survivor_of(secondary_id)
            raise Conflict(
                f"customer {secondary_id} was already merged into {survivor}",
                field="secondary_id",
                merged_into=str(survivor),
            )
        if primary.merged_into is not None:
            survivor = await uow.customers.survivor_of(primary_id)
            raise Conflict(
                f"customer {primary_id} was merged into {survivor}; merge into that customer",
                field="primary_id",
                merged_into=str(survivor),
            )
        for name, customer in (("primary_id", primary), ("secondary_id", secondary)):
            if customer.deleted_at is not None:
                raise Conflict(f"customer {customer.id} is deleted", field=name)
    return None
