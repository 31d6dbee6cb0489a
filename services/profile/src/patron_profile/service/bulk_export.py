"""Customer export: every customer a filter or a list of ids selects, batch by batch.

A filter is walked in keyset order (created_at, id), one statement per batch, so memory and
the cost of each batch stay the same however many customers there are; a customer created
during the walk may or may not be in it, none is listed twice. Ids are read in id order.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import CustomerFilters, CustomerSort
from patron_profile.service.customers import scan_customers
from patron_shared.errors import InvalidInput

EXPORT_BATCH = 1_000
MAX_EXPORT_IDS = 10_000
_OLDEST_FIRST = CustomerSort("created_at", descending=False)


def parse_ids(raw: str) -> list[uuid.UUID]:
    """`ids=` as a list: comma-separated customer ids, each once, at most `MAX_EXPORT_IDS`."""
    ids: list[uuid.UUID] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            raise InvalidInput(
                "ids", f"{part[:40]!r} is not a customer id", location="query"
            ) from None
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise InvalidInput("ids", "give at least one customer id", location="query")
    if len(ids) > MAX_EXPORT_IDS:
        raise InvalidInput("ids", f"at most {MAX_EXPORT_IDS} ids", location="query")
    return ids


async def customers_to_export(
    uow: ImportUnitOfWork, filters: CustomerFilters, ids: list[uuid.UUID] | None
) -> AsyncIterator[list[Customer]]:
    """The selected live customers, a batch at a time."""
    if ids is not None:
        for start in range(0, len(ids), EXPORT_BATCH):
            async with uow:
                found = await uow.imports.customers_by_id(ids[start : start + EXPORT_BATCH])
            if found:
                yield found
        return
    after = None
    while True:
        page, after = await scan_customers(
            uow, filters, _OLDEST_FIRST, after=after, limit=EXPORT_BATCH
        )
        if page:
            yield page
        if after is None:
            return
