"""What a request about a customer that is not live gets: merged customers point onward.

A merged customer is a tombstone naming its survivor. Reading it answers 404 with
`merged_into` (the survivor's id) so a client can follow; changing it answers 409 naming
the survivor, since the change belongs there. Any other missing customer is a plain 404.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from patron_shared.errors import Conflict, NotFound, PatronError


class SurvivorLookup(Protocol):
    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None: ...


async def missing_customer(
    customers: SurvivorLookup, customer_id: uuid.UUID, *, writing: bool
) -> PatronError:
    """The error for `customer_id` not being a live customer (the caller raises it)."""
    survivor = await customers.survivor_of(customer_id)
    if survivor is None:
        return NotFound(f"customer {customer_id} not found")
    if writing:
        return Conflict(
            f"customer {customer_id} was merged into {survivor}; change that customer instead",
            merged_into=str(survivor),
        )
    return NotFound(f"customer {customer_id} was merged into {survivor}", merged_into=str(survivor))
