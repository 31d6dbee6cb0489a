"""Tag use cases: one customer's tags, bulk tagging, tag counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from patron_profile.domain.contact import normalize_tags
from patron_profile.domain.customer import Customer
from patron_profile.service.customers import Clock, existing_customer
from patron_profile.service.ports import TaggingUnitOfWork
from patron_shared.errors import InvalidInput
from patron_shared.events import CustomerUpdated, TagsChanged, utcnow

MAX_BULK_IDS = 10_000


@dataclass(frozen=True)
class BulkTagResult:
    requested: int
    changed: int
    unchanged: int
    not_found: list[uuid.UUID]


async def add_tags(
    uow: TaggingUnitOfWork, customer_id: uuid.UUID, tags: list[str], *, clock: Clock = utcnow
) -> Customer:
    wanted = normalize_tags(tags)
    async with uow:
        customer = await existing_customer(uow, customer_id, for_update=True)
        merged = customer.tags + [t for t in wanted if t not in customer.tags]
        if customer.update({"tags": normalize_tags(merged)}, now=clock()):
            await uow.customers.save(customer)
        await uow.commit()
    return customer


async def remove_tag(
    uow: TaggingUnitOfWork, customer_id: uuid.UUID, tag: str, *, clock: Clock = utcnow
) -> Customer:
    [unwanted] = normalize_tags([tag]) or [""]
    async with uow:
        customer = await existing_customer(uow, customer_id, for_update=True)
        if customer.update({"tags": [t for t in customer.tags if t != unwanted]}, now=clock()):
            await uow.customers.save(customer)
        await uow.commit()
    return customer


async def change_tags_in_bulk(
    uow: TaggingUnitOfWork,
    customer_ids: list[uuid.UUID],
    tags: list[str],
    mode: Literal["add", "remove"],
) -> BulkTagResult:
    """Set-based: one statement changes every customer that needs it; each change is
    announced (CustomerUpdated + TagsChanged) through the outbox like a single edit."""
    ids = list(dict.fromkeys(customer_ids))
    if len(ids) > MAX_BULK_IDS:
        raise InvalidInput("customer_ids", f"at most {MAX_BULK_IDS} ids per call")
    wanted = normalize_tags(tags)
    if not wanted:
        raise InvalidInput("tags", "give at least one tag")
    async with uow:
        found, changed = await uow.tags.change_tags(ids, wanted, mode)
        # Thousands of events from one statement, written to the outbox set-based too; each
        # customer's CustomerUpdated still precedes its TagsChanged.
        uow.emit_in_bulk(CustomerUpdated, (change.customer_updated() for change in changed))
        uow.emit_in_bulk(TagsChanged, (change.tags_changed() for change in changed))
        await uow.commit()
    return BulkTagResult(
        requested=len(ids),
        changed=len(changed),
        unchanged=len(found) - len(changed),
        not_found=[i for i in ids if i not in found],
    )


async def tag_counts(
    uow: TaggingUnitOfWork, *, offset: int, limit: int
) -> tuple[list[tuple[str, int]], int]:
    async with uow:
        return await uow.tags.counts(offset=offset, limit=limit)
