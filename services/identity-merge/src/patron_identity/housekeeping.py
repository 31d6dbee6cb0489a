"""Background upkeep of the identity service's own tables, for as long as the app runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from patron_identity.adapters.connectors import purge_source_deliveries
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime
from patron_shared.logging import get_logger

log = get_logger("patron.identity.housekeeping")

PURGE_EVERY = timedelta(hours=1)


async def forget_old_deliveries(runtime: ServiceRuntime, retention: timedelta) -> None:
    """Purge webhook deliveries past `retention` now and every PURGE_EVERY; a failed purge
    is logged and tried again at the next turn."""
    while True:
        try:
            purged = await purge_source_deliveries(runtime.engine, retention)
            if purged:
                log.info("old webhook deliveries forgotten", deliveries=purged)
        except Exception:
            log.exception("purging old webhook deliveries failed; will try again")
        await asyncio.sleep(PURGE_EVERY.total_seconds())


def keep_tables_tidy_with(app: FastAPI, settings: IdentitySettings) -> None:
    """Run the upkeep beside the service, stopping with it."""
    service_lifespan = app.router.lifespan_context
    runtime: ServiceRuntime = app.state.runtime
    retention = timedelta(days=settings.source_delivery_retention_days)

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(application):
            task = asyncio.create_task(
                forget_old_deliveries(runtime, retention), name="forget-old-deliveries"
            )
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
