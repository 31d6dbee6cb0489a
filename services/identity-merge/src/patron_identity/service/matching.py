"""Duplicate screening of the identity graph's customers.

Every change to a customer's matching features comes through `refresh_matching`, in the
transaction that stored it, so the blocking index and the duplicate decisions never lag
the graph.
"""

from __future__ import annotations

import uuid

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.service.ports import CustomerUnitOfWork


async def refresh_matching(uow: CustomerUnitOfWork, customer: IdentityCustomer) -> None:
    """Re-index the customer's blocking keys and screen it for duplicates."""


async def mark_not_duplicates(
    uow: CustomerUnitOfWork, first: uuid.UUID, second: uuid.UUID, *, decided_by: str
) -> None:
    """Record that two customers are different people: the pair is never suggested again."""
