"""Customer group use cases, and the hooks that keep customers in the groups rules choose.

Locks are always taken customers first, then groups (a customer's row, then the group rows
it is checked against), so group deletion, bulk assignment, rule re-evaluation and order
events never wait on each other in a cycle.

Group changes go through the customer aggregate (`customer.update({"group_id": ...})`), so
every move is announced as CustomerUpdated through the outbox like any other edit.

Re-evaluation after a rule change (creating, editing or deleting an auto-assign group) runs
after that change commits, in bounded batches: `REEVALUATION_BATCH` customers per
transaction, oldest first (keyset on created_at, id), and only the customers rules may move
(no group, or a group the rules gave them). Each batch locks its customers, so it composes
with concurrent edits and order events; customers created or changed meanwhile are
evaluated by their own hooks against the already-committed rules. If the process stops
midway, the remaining customers are re-evaluated on their next input change or the next
rule change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron_profile.domain.customer import Customer
from patron_profile.domain.group import (
    RULE_INPUTS,
    Assignment,
    CustomerFacts,
    CustomerGroup,
    GroupLock,
    clean_group_fields,
    default_groups,
    rule_outcome,
)
from patron_profile.service.ports import (
    CustomerUnitOfWork,
    GroupRepository,
)
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import utcnow

Clock = Callable[[], datetime]
MAX_ASSIGN_IDS = 1_000
REEVALUATION_BATCH = 500


@dataclass(frozen=True)
class GroupView:
    group: CustomerGroup
    customer_count: int


@dataclass(frozen=True)
class AssignResult:
    assigned: int
    not_found: list[uuid.UUID]


async def list_groups(
    uow: CustomerUnitOfWork, *, offset: int, limit: int, clock: Clock = utcnow
) -> tuple[list[GroupView], int]:
    async with uow:
        await _ensure_defaults(uow, clock)
        found, total = await uow.groups.list_page(offset=offset, limit=limit)
        await uow.commit()
    return [GroupView(group, count) for group, count in found], total


async def get_group(
    uow: CustomerUnitOfWork, group_id: uuid.UUID, *, clock: Clock = utcnow
) -> GroupView:
    async with uow:
        await _ensure_defaults(uow, clock)
        group = await _existing(uow.groups, group_id)
        count = await uow.groups.member_count(group_id)
        await uow.commit()
    return GroupView(group, count)


async def create_group(
    uow: CustomerUnitOfWork,
    values: Mapping[str, Any],
    *,
    group_id: uuid.UUID | None = None,
    clock: Clock = utcnow,
    batch_size: int = REEVALUATION_BATCH,
) -> GroupView:
    fields = clean_group_fields(values)
    async with uow:
        await _ensure_defaults(uow, clock)
        group = CustomerGroup.new(
            group_id=group_id or uuid.uuid4(), tenant_id=uow.tenant_id, now=clock(), **fields
        )
        await uow.groups.add(group)
        await uow.commit()
    if group.auto_assign:
        await reevaluate_customers(uow, clock=clock, batch_size=batch_size)
    return await get_group(uow, group.id, clock=clock)


async def change_group(
    uow: CustomerUnitOfWork,
    group_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    clock: Clock = utcnow,
    batch_size: int = REEVALUATION_BATCH,
) -> GroupView:
    fields = clean_group_fields(changes)
    async with uow:
        await _ensure_defaults(uow, clock)
        group = await _existing(uow.groups, group_id, lock="update")
        was_auto = group.auto_assign
        changed = group.change(fields, now=clock())
        if changed:
            await uow.groups.save(group)
        await uow.commit()
    if RULE_INPUTS.intersection(changed) and (was_auto or group.auto_assign):
        await reevaluate_customers(uow, clock=clock, batch_size=batch_size)
    return await get_group(uow, group_id, clock=clock)


async def delete_group(
    uow: CustomerUnitOfWork,
    group_id: uuid.UUID,
    *,
    reassign_to: uuid.UUID | None = None,
    clock: Clock = utcnow,
    batch_size: int = REEVALUATION_BATCH,
) -> None:
    """Delete a custom group. One with customers needs `reassign_to`: they move there, as
    a manual choice (pinned). Default groups cannot be deleted."""
    if reassign_to == group_id:
        raise InvalidInput("reassign_to", "must be another group", location="query")
    async with uow:
        await _ensure_defaults(uow, clock)
        group = await _existing(uow.groups, group_id)
        if group.is_default:
            raise Conflict(f"the default group {group.name} cannot be deleted")
        members: list[Customer] = []
        target = None
        if reassign_to is not None:
            # Customers first, then groups (see the module docstring).
            members = await uow.groups.lock_members(group_id)
            target = await uow.groups.get(reassign_to, lock="share")
            if target is None:
                raise InvalidInput(
                    "reassign_to", f"no customer group {reassign_to}", location="query"
                )
        group = await _existing(uow.groups, group_id, lock="update")
        if reassign_to is None:
            count = await uow.groups.member_count(group_id)
            if count:
                raise Conflict(
                    f"the group has {count} customers; pass reassign_to=<group id> to move them",
                    customers=count,
                )
        else:
            # Members that joined before the group was locked are locked (and moved) too.
            members = await uow.groups.lock_members(group_id)
            now = clock()
            for customer in members:
                customer.update({"group_id": reassign_to}, now=now)
                await uow.customers.save(customer)
            await uow.groups.record_assignments(
                {c.id: Assignment(reassign_to, "manual") for c in members}
            )
        await uow.groups.delete(group_id)
        await uow.commit()
    if group.auto_assign:
        await reevaluate_customers(uow, clock=clock, batch_size=batch_size)


async def assign_customers(
    uow: CustomerUnitOfWork,
    group_id: uuid.UUID,
    customer_ids: Sequence[uuid.UUID],
    *,
    clock: Clock = utcnow,
) -> AssignResult:
    """Put customers in a group by hand: each is pinned there until its group is cleared."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        raise InvalidInput("customer_ids", "give at least one customer id")
    if len(ids) > MAX_ASSIGN_IDS:
        raise InvalidInput("customer_ids", f"at most {MAX_ASSIGN_IDS} ids per call")
    async with uow:
        await _ensure_defaults(uow, clock)
        await _existing(uow.groups, group_id)
        customers = await uow.groups.lock_customers(ids)
        await _existing(uow.groups, group_id, lock="share")
        now = clock()
        for customer in customers:
            if customer.update({"group_id": group_id}, now=now):
                await uow.customers.save(customer)
        await uow.groups.record_assignments(
            {c.id: Assignment(group_id, "manual") for c in customers}
        )
        await uow.commit()
    found = {c.id for c in customers}
    return AssignResult(assigned=len(found), not_found=[i for i in ids if i not in found])


async def reevaluate_customers(
    uow: CustomerUnitOfWork, *, clock: Clock = utcnow, batch_size: int = REEVALUATION_BATCH
) -> int:
    """Apply the tenant's rules to every customer they may move, one bounded batch per
    transaction; returns how many customers changed group."""
    moved = 0
    after: Customer | None = None
    while True:
        async with uow:
            # Customers first, then groups (see the module docstring).
            peek = await uow.groups.auto_groups(lock=False)
            batch = await uow.groups.lock_rule_candidates(
                after=after, limit=batch_size, unassigned=bool(peek)
            )
            groups = await uow.groups.auto_groups(lock=True)
            now = clock()
            assignments: dict[uuid.UUID, Assignment | None] = {}
            for customer, assignment in batch:
                outcome = rule_outcome(
                    customer.group_id, assignment, groups, CustomerFacts.of(customer)
                )
                if outcome is None:
                    continue
                if customer.update({"group_id": outcome.group_id}, now=now):
                    await uow.customers.save(customer)
                    moved += 1
                if outcome.assignment != assignment:
                    assignments[customer.id] = outcome.assignment
            await uow.groups.record_assignments(assignments)
            await uow.commit()
        if len(batch) < batch_size:
            return moved
        after = batch[-1][0]


async def sync_customer_group(
    uow: CustomerUnitOfWork,
    customer: Customer,
    changes: Mapping[str, Any],
    *,
    now: datetime,
    created: bool = False,
) -> None:
    """Hook, inside the unit of work that created or updated `customer` (row locked).

    A `group_id` the caller sent must name an existing group; a new one is a manual choice
    (pinned); a cleared one hands the customer back to the rules. Rules then re-evaluate
    when their inputs may have changed (creation, email, group).
    """
    groups = uow.groups
    assignment = await groups.assignment_of(customer.id)
    if "group_id" in changes:
        if customer.group_id is None:
            if assignment is not None:
                await groups.record_assignments({customer.id: None})
                assignment = None
        elif assignment is None or assignment.group_id != customer.group_id:
            if await groups.get(customer.group_id, lock="share") is None:
                raise InvalidInput("group_id", f"no customer group {customer.group_id}")
            await groups.record_assignments({customer.id: Assignment(customer.group_id, "manual")})
            return
    if created or "email" in changes or "group_id" in changes:
        candidates = await groups.auto_groups(lock=True)
        await _apply_rules(uow, customer, assignment, candidates, now=now)


async def apply_group_rules(
    uow: CustomerUnitOfWork, customer: Customer, *, now: datetime | None = None
) -> None:
    """Hook, inside the unit of work that changed `customer`'s statistics (row locked).

    It runs on every order event, so the common case costs one query: with no group that
    assigns by rule and no group on the customer (hence no assignment), nothing can change.
    """
    candidates = await uow.groups.auto_groups(lock=True)
    if not candidates and customer.group_id is None:
        return
    assignment = await uow.groups.assignment_of(customer.id)
    await _apply_rules(uow, customer, assignment, candidates, now=now or utcnow())


async def _apply_rules(
    uow: CustomerUnitOfWork,
    customer: Customer,
    assignment: Assignment | None,
    candidates: list[CustomerGroup],
    *,
    now: datetime,
) -> None:
    outcome = rule_outcome(customer.group_id, assignment, candidates, CustomerFacts.of(customer))
    if outcome is None:
        return
    if customer.update({"group_id": outcome.group_id}, now=now):
        await uow.customers.save(customer)
    if outcome.assignment != assignment:
        await uow.groups.record_assignments({customer.id: outcome.assignment})


async def _ensure_defaults(uow: CustomerUnitOfWork, clock: Clock) -> None:
    await uow.groups.ensure_defaults(default_groups(uow.tenant_id, now=clock()))


async def _existing(
    groups: GroupRepository, group_id: uuid.UUID, *, lock: GroupLock | None = None
) -> CustomerGroup:
    group = await groups.get(group_id, lock=lock)
    if group is None:
        raise NotFound(f"customer group {group_id} not found")
    return group
