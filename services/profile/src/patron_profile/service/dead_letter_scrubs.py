"""The erasure's last participant, `dead_letters`: the erased customers' records out of the
dead-letter topics.

`erase_customer` records a pending scrub with the erasure (the customer's id and its
personal values as salted hashes). A job claims the scrubs that are due (once the other
services have acknowledged, so that their consumers have dead-lettered all they would about
the customer), scrubs the topics for all of them in one pass, then, per scrub, acknowledges
the erasure as the other services do. A final pass `FINAL_PASS_AFTER` later catches what a
lagging consumer dead-lettered meanwhile; then the scrub is deleted. When Kafka fails, each
scrub is tried again later, less and less often; one claimed by a job that died is claimed
again when its lease ends. A scrub is never dropped before its final pass has run.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from patron_profile.domain.erasure import DEAD_LETTERS_PARTICIPANT
from patron_shared.db.erasure import acknowledge_erasure
from patron_shared.db.ports import ErasingUnitOfWorkProtocol
from patron_shared.events import CustomerErased, utcnow
from patron_shared.events.customer import ErasureMode
from patron_shared.logging import get_logger
from patron_shared.messaging.dead_letter_erasure import ErasedCustomer

log = get_logger("patron.profile.dead-letter-scrubs")

RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
FINAL_PASS_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class DeadLetterScrub:
    tenant_id: str
    erasure_id: uuid.UUID
    mode: ErasureMode
    customer: ErasedCustomer
    attempts: int  # this one included
    final_pass: bool = False  # the erasure was acknowledged after the first pass
    # The id of the key its hashes were made under when no configured key has it: the scrub
    # cannot match the customer's values and waits for the key to be configured again.
    key_missing: str | None = None


class DeadLetterScrubRepository(Protocol):
    async def add(
        self,
        erasure_id: uuid.UUID,
        customer: ErasedCustomer,
        mode: ErasureMode,
        requested_at: datetime,
    ) -> None: ...
    async def remove(self, erasure_id: uuid.UUID) -> None: ...
    async def await_final_pass(
        self, erasure_id: uuid.UUID, acknowledged_at: datetime, final_pass_at: datetime
    ) -> None: ...
    async def postpone(self, erasure_id: uuid.UUID, until: datetime, error: str) -> None: ...


class DeadLetterScrubUnitOfWork(ErasingUnitOfWorkProtocol, Protocol):
    @property
    def dead_letter_scrubs(self) -> DeadLetterScrubRepository: ...


ClaimScrubs = Callable[[datetime], Awaitable[list[DeadLetterScrub]]]
EraseFromDeadLetters = Callable[[Sequence[ErasedCustomer]], Awaitable[object]]
OpenUnitOfWork = Callable[[str], DeadLetterScrubUnitOfWork]


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed try a scrub is tried again (doubling)."""
    doublings = min(max(attempts - 1, 0), 16)  # RETRY_MAX long before the 16th
    return min(RETRY_FIRST * (1 << doublings), RETRY_MAX)


async def run_dead_letter_scrubs(
    claim: ClaimScrubs,
    erase: EraseFromDeadLetters,
    open_uow: OpenUnitOfWork,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> list[DeadLetterScrub]:
    """One round: the scrubs due, erased from the dead-letter topics together; the ones
    done (each deleted and acknowledged). A Kafka failure postpones them all and is
    raised again."""
    claimed = await claim(clock())
    scrubs = [scrub for scrub in claimed if scrub.key_missing is None]
    for scrub in claimed:
        if scrub.key_missing is not None:
            await _wait_for_key(open_uow(scrub.tenant_id), scrub, clock())
    if not scrubs:
        return []
    try:
        await erase([scrub.customer for scrub in scrubs])
    except Exception as error:
        now = clock()
        reason = f"{type(error).__name__}: {error}"
        for scrub in scrubs:
            async with open_uow(scrub.tenant_id) as uow:
                await uow.dead_letter_scrubs.postpone(
                    scrub.erasure_id, now + retry_delay(scrub.attempts), reason
                )
                await uow.commit()
        raise
    for scrub in scrubs:
        await finish_scrub(open_uow(scrub.tenant_id), scrub, clock())
    return scrubs


async def _wait_for_key(
    uow: DeadLetterScrubUnitOfWork, scrub: DeadLetterScrub, now: datetime
) -> None:
    """A scrub whose hashes were made under a key no longer configured: run without it, it
    would match the customer's id only and acknowledge an erasure it did not do. It is
    postponed, saying which key it needs, until that key is among the previous ones."""
    error = (
        f"its hashes were made under the erasure hash key {scrub.key_missing}, which is not "
        "configured: add it to PATRON_ERASURE_HASH_PREVIOUS_KEYS"
    )
    async with uow:
        await uow.dead_letter_scrubs.postpone(
            scrub.erasure_id, now + retry_delay(scrub.attempts), error
        )
        await uow.commit()
    log.error("dead-letter scrub waits for its key", erasure_id=str(scrub.erasure_id), error=error)


async def finish_scrub(
    uow: DeadLetterScrubUnitOfWork, scrub: DeadLetterScrub, now: datetime
) -> None:
    """A pass done. After the first, the erasure is acknowledged and the final pass set for
    `FINAL_PASS_AFTER` later, in one transaction; after the final one, the scrub is
    deleted (and with it the hashes)."""
    async with uow:
        if scrub.final_pass:
            await uow.dead_letter_scrubs.remove(scrub.erasure_id)
            await uow.commit()
            log.info("dead letters scrubbed again", erasure_id=str(scrub.erasure_id))
            return
        await uow.dead_letter_scrubs.await_final_pass(
            scrub.erasure_id, now, final_pass_at=now + FINAL_PASS_AFTER
        )
        await acknowledge_erasure(
            uow,
            CustomerErased(
                customer_id=scrub.customer.customer_id,
                mode=scrub.mode,
                erased_at=now,
                erasure_id=scrub.erasure_id,
            ),
            service=DEAD_LETTERS_PARTICIPANT,
            now=now,
        )
        await uow.commit()
    log.info("dead letters scrubbed", erasure_id=str(scrub.erasure_id), tenant=scrub.tenant_id)
