"""The daily jobs beside the service, every tenant: points expiry and time-driven tiers.

Started with the service (unless `LOYALTY_DAILY_JOBS_INTERVAL_SECONDS` is 0), once at start
and then every interval; replicas may overlap, the jobs are safe to run twice.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from fastapi import FastAPI

from patron_loyalty.adapters.points import loyalty_tenants
from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.service.daily import DailyResult, run_daily_jobs
from patron_loyalty.settings import LoyaltySettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.loyalty.daily")


async def run_daily_jobs_for_all_tenants(runtime: ServiceRuntime) -> dict[str, DailyResult]:
    """One pass over every tenant; a tenant that fails is logged and retried next time."""
    return await run_daily_jobs_for_tenants(
        runtime, await loyalty_tenants(runtime.engine), utcnow()
    )


async def run_daily_jobs_for_tenants(
    runtime: ServiceRuntime, tenants: list[str], now: datetime
) -> dict[str, DailyResult]:
    done: dict[str, DailyResult] = {}
    for tenant in tenants:
        try:
            new_uow = partial(runtime.unit_of_work, LoyaltyUnitOfWork, tenant_id=tenant)
            done[tenant] = await run_daily_jobs(new_uow, now)
        except Exception:
            log.exception(
                "daily loyalty jobs failed for a tenant; the next run retries", tenant=tenant
            )
    return done


async def run_and_log(runtime: ServiceRuntime) -> None:
    results = await run_daily_jobs_for_all_tenants(runtime)
    expired = sum(r.points_expired for r in results.values())
    if expired:
        log.info("points expired", points=expired, tenants=len(results))


def run_daily_jobs_with(app: FastAPI, settings: LoyaltySettings) -> None:
    """Run the jobs beside the service (unless the interval is 0), stopping with it."""
    runtime: ServiceRuntime = app.state.runtime
    run_periodically(
        app,
        "loyalty-daily-jobs",
        lambda: run_and_log(runtime),
        settings.daily_jobs_interval_seconds,
    )
