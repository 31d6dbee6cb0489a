"""The campaign runner beside the service: it finds the campaigns due (any tenant's, by
`due_campaigns()`) and queues their audiences a chunk at a time, every
`PATRON_CAMPAIGN_RUNNER_INTERVAL_SECONDS` and at once when a campaign to send now is
created in this process.

Several processes may run one: a chunk is queued in a transaction holding its campaign's
row (the others skip it meanwhile), and moves the campaign's cursor in that transaction,
so no chunk is queued twice and a crash resumes after the last chunk committed; the
idempotency key of each delivery (campaign, template, customer, channel) makes sure of it
even then. Campaigns take turns: each gets `CHUNKS_PER_TURN` chunks before the next.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI

from patron_notifications.service.campaigns import CampaignUnitOfWork, queue_campaign_chunk
from patron_notifications.service.messages import Messenger
from patron_shared.events import utcnow
from patron_shared.http import run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.notifications.campaigns")
CHUNKS_PER_TURN = 10
DUE_PER_ROUND = 50

ListDue = Callable[[datetime, int], Awaitable[list[tuple[str, uuid.UUID]]]]
OpenUnitOfWork = Callable[[str], CampaignUnitOfWork]


@dataclass(frozen=True)
class RunnerRound:
    campaigns: int = 0  # campaigns that queued a chunk or finished
    chunks: int = 0
    customers: int = 0
    queued: int = 0
    finished: int = 0
    # a campaign still had chunks to go when its turn ended
    more: bool = False


async def run_due_campaigns(
    list_due: ListDue,
    open_uow: OpenUnitOfWork,
    messenger: Messenger,
    now: Callable[[], datetime] = utcnow,
    *,
    chunk_size: int = 1000,
    chunks_per_turn: int = CHUNKS_PER_TURN,
    limit: int = DUE_PER_ROUND,
) -> RunnerRound:
    """One round: up to `limit` due campaigns, each up to `chunks_per_turn` chunks."""
    campaigns = chunks = customers = queued = finished = 0
    more = False
    for tenant, campaign_id in await list_due(now(), limit):
        worked = False
        for _ in range(chunks_per_turn):
            outcome = await queue_campaign_chunk(
                open_uow(tenant), campaign_id, messenger, now=now(), chunk_size=chunk_size
            )
            if outcome.state == "not_due":
                break
            worked = True
            chunks += 1
            customers += outcome.customers
            queued += outcome.queued
            if outcome.state == "finished":
                finished += 1
                break
        else:
            more = True
        campaigns += worked
    return RunnerRound(campaigns, chunks, customers, queued, finished, more)


def run_campaign_runner_with(
    app: FastAPI,
    list_due: ListDue,
    open_uow: OpenUnitOfWork,
    messenger: Messenger,
    *,
    interval_s: float,
    chunk_size: int,
    wake: asyncio.Event | None = None,
) -> None:
    """Run the campaign runner beside the app (nothing with an interval of 0)."""

    async def drain() -> None:
        """Rounds for as long as a campaign has chunks to go."""
        while True:
            round_ = await run_due_campaigns(list_due, open_uow, messenger, chunk_size=chunk_size)
            if round_.chunks:
                log.info(
                    "campaign round",
                    campaigns=round_.campaigns,
                    customers=round_.customers,
                    queued=round_.queued,
                    finished=round_.finished,
                )
            if not round_.more:
                return

    run_periodically(app, "campaign-runner", drain, interval_s, wake=wake)
