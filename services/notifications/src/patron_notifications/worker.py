"""The delivery worker beside the service: rounds of claim, send, record, for as long as
there is due work, then a short rest (`PATRON_DELIVERY_*`). Several processes may run one:
claims never overlap."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from patron_notifications.adapters.channels import build_channels
from patron_notifications.adapters.deliveries import claim_due_deliveries
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.sending import send_due_deliveries
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.notifications.worker")


def run_delivery_worker_with(app: FastAPI, settings: NotificationsSettings) -> None:
    if settings.delivery_idle_seconds <= 0:
        return  # no worker in this process: no SMTP or SMS clients either
    runtime: ServiceRuntime = app.state.runtime
    channels = build_channels(settings)
    lease = timedelta(seconds=settings.delivery_lease_seconds)

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

    run_periodically(
        app, "delivery-worker", drain, settings.delivery_idle_seconds, on_stop=channels.close
    )
