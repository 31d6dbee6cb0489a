"""Background upkeep of the identity service's own tables, for as long as the app runs."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from patron_identity.adapters.connectors import purge_source_deliveries
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.identity.housekeeping")

PURGE_EVERY = timedelta(hours=1)


async def forget_old_deliveries(runtime: ServiceRuntime, retention: timedelta) -> None:
    """Purge webhook deliveries past `retention` (a replay older than that is new again)."""
    purged = await purge_source_deliveries(runtime.engine, retention)
    if purged:
        log.info("old webhook deliveries forgotten", deliveries=purged)


def keep_tables_tidy_with(app: FastAPI, settings: IdentitySettings) -> None:
    """Run the upkeep beside the service, now and every PURGE_EVERY, stopping with it."""
    runtime: ServiceRuntime = app.state.runtime
    retention = timedelta(days=settings.source_delivery_retention_days)
    run_periodically(
        app,
        "forget-old-deliveries",
        lambda: forget_old_deliveries(runtime, retention),
        PURGE_EVERY.total_seconds(),
    )
