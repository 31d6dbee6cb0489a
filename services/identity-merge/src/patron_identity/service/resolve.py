"""Resolve: the Patron customer id for what a source knows of a person.

Exact identifiers decide first; when none is known, a name with an address, postcode or date
of birth may still find the customer through the blocking index (a probabilistic match at or
above the tenant's automatic merge threshold).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import MatchedBy, ResolveRequest, first_owned
from patron_identity.service.matching import best_match
from patron_identity.service.ports import CustomerUnitOfWork
from patron_shared.events import SourceAddress, UpsertCustomerFromSource


@dataclass(frozen=True)
class Resolution:
    customer_id: uuid.UUID
    matched_by: MatchedBy | None  # None: nothing matched, the customer is new
    created: bool
    score: float | None = None  # the match probability, when matched_by is "probabilistic"


async def resolve(
    uow: CustomerUnitOfWork, request: ResolveRequest, *, rules: NormalizationRules
) -> Resolution:
    """The owner of the first known identifier, else the customer the person most probably
    is, else a new customer; the request's identifiers are claimed for whichever it is.

    A new customer is announced with `UpsertCustomerFromSource`, through the outbox in the
    same transaction, so the profile service creates it with this id. Identifiers already
    owned by someone else stay theirs: two customers sharing one is for matching to judge.
    """
    wanted = request.identifiers(rules)
    async with uow:
        owners = await uow.identifiers.owners(wanted)
        deciding = first_owned(wanted, owners)
        resolution: Resolution
        if deciding is not None:
            resolution = Resolution(owners[deciding], deciding.kind, created=False)
        else:
            probable = (
                await best_match(uow, request.person_record())
                if request.can_match_by_features
                else None
            )
            if probable is not None:
                customer, score = probable
                resolution = Resolution(
                    customer.customer_id, "probabilistic", created=False, score=score.probability
                )
            else:
                resolution = Resolution(uuid.uuid4(), None, created=True)
        # Claimed in a fixed order: when two requests race to create a customer for the
        # same identifier, the first claim of it decides, and the later one adopts that id.
        for n, identifier in enumerate(sorted(wanted)):
            owner = await uow.identifiers.claim(
                identifier, resolution.customer_id, source=request.source
            )
            if deciding is None and n == 0 and owner != resolution.customer_id:
                resolution = Resolution(owner, identifier.kind, created=False)
        if resolution.created:
            uow.emit(_announcement(resolution.customer_id, request))
        await uow.commit()
    return resolution


def _announcement(customer_id: uuid.UUID, request: ResolveRequest) -> UpsertCustomerFromSource:
    address_lines = (
        request.address1,
        request.address2,
        request.city,
        request.state,
        request.postcode,
        request.country,
    )
    return UpsertCustomerFromSource(
        customer_id=customer_id,
        source=request.source,
        external_id=request.external_id,
        email=request.email,
        phone=request.phone,
        first_name=request.first_name,
        last_name=request.last_name,
        date_of_birth=request.date_of_birth,
        address=SourceAddress(
            address1=request.address1,
            address2=request.address2,
            city=request.city,
            state=request.state,
            pincode=request.postcode,
            country=request.country,
        )
        if any(address_lines)
        else None,
    )
