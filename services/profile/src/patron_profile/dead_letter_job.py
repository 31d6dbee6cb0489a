"""The scrub of the dead-letter topics beside the service, every tenant's erasures
(`service.dead_letter_scrubs`), every `PATRON_DEAD_LETTER_SCRUB_INTERVAL_SECONDS`.

Replicas may all run it: one scrubs at a time (an advisory lock in the profile database),
the others skip that round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from fastapi import FastAPI

from patron_profile.adapters.dead_letter_scrubs import claim_dead_letter_scrubs, scrubbing_alone
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.erasure import DEAD_LETTERS_PARTICIPANT, ERASURE_PARTICIPANTS
from patron_profile.service.dead_letter_scrubs import DeadLetterScrub, run_dead_letter_scrubs
from patron_profile.settings import ProfileSettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.messaging.dead_letter_erasure import (
    ErasedCustomer,
    dead_letter_topics,
    erase_from_dead_letters,
)

SCRUBS_PER_ROUND = 100
# A claimed scrub is the job's this long; then it is due again (the job died, say).
LEASE = timedelta(minutes=10)
# The scrub waits for the other participants' acknowledgements, but not longer than this.
WAIT_FOR_PARTICIPANTS = timedelta(hours=1)
OTHER_PARTICIPANTS = tuple(p for p in ERASURE_PARTICIPANTS if p != DEAD_LETTERS_PARTICIPANT)


async def scrub_dead_letters(
    runtime: ServiceRuntime,
    topics: Sequence[str] | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> list[DeadLetterScrub]:
    """One round, unless another process is scrubbing; the scrubs done."""
    settings = runtime.settings
    assert isinstance(settings, ProfileSettings), "the profile's runtime"

    async def claim(now: datetime) -> list[DeadLetterScrub]:
        return await claim_dead_letter_scrubs(
            runtime.engine,
            now,
            limit=SCRUBS_PER_ROUND,
            lease=LEASE,
            participants=OTHER_PARTICIPANTS,
            wait=WAIT_FOR_PARTICIPANTS,
            hash_keys=settings.erasure_hash_keys,
        )

    async def erase(customers: Sequence[ErasedCustomer]) -> object:
        return await erase_from_dead_letters(
            settings.kafka_bootstrap,
            customers,
            topics=dead_letter_topics() if topics is None else topics,
            client_id=f"{runtime.name}-dead-letter-erasure",
            compression=settings.kafka_compression,
        )

    async with scrubbing_alone(runtime.engine) as alone:
        if not alone:
            return []
        return await run_dead_letter_scrubs(
            claim,
            erase,
            lambda tenant: runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant),
            clock=clock,
        )


def scrub_dead_letters_with(app: FastAPI, settings: ProfileSettings) -> None:
    """Run the scrub beside the service (unless the interval is 0), stopping with it."""
    runtime: ServiceRuntime = app.state.runtime
    run_periodically(
        app,
        "dead-letter-scrub",
        lambda: scrub_dead_letters(runtime),
        settings.dead_letter_scrub_interval_seconds,
    )
