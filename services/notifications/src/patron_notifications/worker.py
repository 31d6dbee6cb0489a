"""The delivery worker beside the service: rounds of claim, send, record, for as long as
there is due work, then a rest (`PATRON_DELIVERY_*`) that ends as soon as a transaction
queueing messages commits (a PostgreSQL NOTIFY the worker LISTENs for; without that
connection it looks every `PATRON_DELIVERY_IDLE_SECONDS` until it is back). Several
processes may run one: claims never overlap."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from patron_notifications.adapters.channels import build_channels
from patron_notifications.adapters.deliveries import (
    claim_due_deliveries,
    listen_for_due_deliveries,
)
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.sending import send_due_deliveries
from patron_notifications.service.sms_status import status_callback_url
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.notifications.worker")
# How long after losing its LISTEN connection the worker tries to listen again.
LISTEN_RETRY_SECONDS = 5.0


def run_delivery_worker_with(app: FastAPI, settings: NotificationsSettings) -> None:
    if settings.delivery_idle_seconds <= 0:
        return  # no worker in this process: no SMTP or SMS clients either
    runtime: ServiceRuntime = app.state.runtime
    channels = build_channels(settings)
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    due = asyncio.Event()

    def callback_url(tenant: str) -> str:
        return status_callback_url(settings.public_base_url, tenant)

    async def drain() -> None:
        """Rounds until a round finds less than a full batch due."""
        while True:
            sent = await send_due_deliveries(
                partial(claim_due_deliveries, runtime.engine),
                lambda tenant: runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant),
                channels.email,
                channels.sms,
                utcnow,
                limit=settings.delivery_batch,
                lease=lease,
                concurrency=settings.delivery_concurrency,
                status_callback_url=callback_url,
            )
            if sent.claimed:
                log.info(
                    "delivery round",
                    claimed=sent.claimed,
                    sent=sent.sent,
                    retrying=sent.retrying,
                    failed=sent.failed,
                )
            if sent.claimed < settings.delivery_batch:
                return

    async def listen() -> None:
        """Wake the worker whenever messages are queued, for as long as the connection
        lasts; losing it only slows sending down to the idle period's pace."""
        try:
            await listen_for_due_deliveries(runtime.engine, due.set)
        except Exception as error:
            lost = repr(error)
        else:
            lost = "connection closed"
        log.warning(
            "LISTEN for queued deliveries lost; polling until it is back",
            error=lost,
            poll_seconds=settings.delivery_idle_seconds,
            retry_seconds=LISTEN_RETRY_SECONDS,
        )

    run_periodically(
        app,
        "delivery-worker",
        drain,
        settings.delivery_idle_seconds,
        on_stop=channels.close,
        wake=due,
    )
    run_periodically(app, "delivery-worker-listener", listen, LISTEN_RETRY_SECONDS)
