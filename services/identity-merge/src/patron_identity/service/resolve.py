"""Resolve: the Patron customer id for what a source knows of a person (exact identifiers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import IdentifierKind, ResolveRequest, first_owned
from patron_identity.service.ports import CustomerUnitOfWork
from patron_shared.events import UpsertCustomerFromSource


@dataclass(frozen=True)
class Resolution:
    customer_id: uuid.UUID
    matched_by: IdentifierKind | None  # None: nothing matched, the customer is new
    created: bool


async def resolve(
    uow: CustomerUnitOfWork, request: ResolveRequest, *, rules: NormalizationRules
) -> Resolution:
    """The owner of the first known identifier, or a new customer that owns them all.

    A new customer is announced with `UpsertCustomerFromSource`, through the outbox in the
    same transaction, so the profile service creates it with this id. Identifiers already
    owned by someone else stay theirs: two customers sharing one is for matching to judge.
    """
    wanted = request.identifiers(rules)
    async with uow:
        owners = await uow.identifiers.owners(wanted)
        deciding = first_owned(wanted, owners)
        if deciding is not None:
            customer_id, matched_by, created = owners[deciding], deciding.kind, False
        else:
            customer_id, matched_by, created = uuid.uuid4(), None, True
        # Claimed in a fixed order: when two requests race to create a customer for the
        # same identifier, the first claim of it decides, and the later one adopts that id.
        for n, identifier in enumerate(sorted(wanted)):
            owner = await uow.identifiers.claim(identifier, customer_id, source=request.source)
            if created and n == 0 and owner != customer_id:
                customer_id, matched_by, created = owner, identifier.kind, False
        if created:
            uow.emit(
                UpsertCustomerFromSource(
                    customer_id=customer_id,
                    source=request.source,
                    external_id=request.external_id,
                    email=request.email,
                    phone=request.phone,
                    first_name=request.first_name,
                    last_name=request.last_name,
                )
            )
        await uow.commit()
    return Resolution(customer_id, matched_by, created)
