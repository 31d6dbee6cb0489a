"""GDPR erasure use cases: erase a customer (the profile's part, then `CustomerErased` for the
others), record the services' acknowledgements, and show an erasure's progress."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from patron_profile.domain.erasure import PROFILE_PARTICIPANT, Erasure, PersonalValues
from patron_profile.service.dead_letter_scrubs import DeadLetterScrubRepository
from patron_shared.db.ports import ErasingUnitOfWorkProtocol
from patron_shared.errors import NotFound
from patron_shared.events import CustomerErased, ErasureAcknowledged, utcnow
from patron_shared.events.customer import ErasureMode
from patron_shared.messaging.dead_letter_erasure import ErasedCustomer

Clock = Callable[[], datetime]


class ErasureRepository(Protocol):
    async def personal_values(self, customer_id: uuid.UUID) -> PersonalValues | None: ...
    async def erase_customer(
        self, customer_id: uuid.UUID, mode: ErasureMode, now: datetime
    ) -> None: ...
    async def add(self, erasure: Erasure) -> None: ...
    async def acknowledge(
        self, erasure_id: uuid.UUID, service: str, completed_at: datetime
    ) -> None: ...
    async def latest(self, customer_id: uuid.UUID) -> Erasure | None: ...


class ErasureUnitOfWork(ErasingUnitOfWorkProtocol, Protocol):
    @property
    def erasures(self) -> ErasureRepository: ...
    @property
    def dead_letter_scrubs(self) -> DeadLetterScrubRepository: ...


async def erase_customer(
    uow: ErasureUnitOfWork,
    customer_id: uuid.UUID,
    mode: ErasureMode,
    *,
    hash_key: bytes,
    requested_by: str | None = None,
    clock: Clock = utcnow,
) -> Erasure:
    """Erase (or anonymize) the customer here, scrub the profile's outbox of it, and ask every
    other service to do the same (`CustomerErased`), all in one transaction. A customer that
    is already gone for good but was erased before answers with that erasure (a repeated
    request is harmless); one never known is a 404. A live, deleted or merged customer can
    all be erased. `hash_key` keys the hashes of its values kept for the dead-letter
    scrub."""
    async with uow:
        personal = await uow.erasures.personal_values(customer_id)
        if personal is None:
            previous = await uow.erasures.latest(customer_id)
            if previous is None:
                raise NotFound(f"customer {customer_id} not found")
            return previous
        now = clock()
        erasure = Erasure(
            erasure_id=uuid.uuid4(),
            customer_id=customer_id,
            mode=mode,
            requested_at=now,
            requested_by=requested_by,
            acknowledged={PROFILE_PARTICIPANT: now},
        )
        await uow.erasures.erase_customer(customer_id, mode, now)
        await uow.scrub_customer_messages(customer_id, personal.identifiers, names=personal.names)
        await uow.erasures.add(erasure)
        # the dead letters are scrubbed later (`service.dead_letter_scrubs`), by hashes; a
        # name is only looked for with its other half (others share it)
        dead_letters = ErasedCustomer.of(
            customer_id, personal.identifiers, names=personal.names, key=hash_key
        )
        await uow.dead_letter_scrubs.add(erasure.erasure_id, dead_letters, mode, now)
        await uow.erasures.acknowledge(erasure.erasure_id, PROFILE_PARTICIPANT, now)
        uow.emit(
            CustomerErased(
                customer_id=customer_id, mode=mode, erased_at=now, erasure_id=erasure.erasure_id
            )
        )
        await uow.commit()
    return erasure


async def record_acknowledgement(uow: ErasureUnitOfWork, event: ErasureAcknowledged) -> None:
    async with uow:
        await uow.erasures.acknowledge(event.erasure_id, event.service, event.completed_at)
        await uow.commit()


async def erasure_status(uow: ErasureUnitOfWork, customer_id: uuid.UUID) -> Erasure:
    """The customer's latest erasure and every participant's progress."""
    async with uow:
        erasure = await uow.erasures.latest(customer_id)
    if erasure is None:
        raise NotFound(f"customer {customer_id} has no erasure")
    return erasure
