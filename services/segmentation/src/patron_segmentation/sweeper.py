"""The periodic sweep beside the service: segments that time alone can change, every tenant.

A customer becomes "at risk" on the 91st quiet day without any event of its own; the sweep
recomputes every segment whose rule names a relative time, tenant by tenant, each in its
own transaction, and announces who moved.
"""

from __future__ import annotations

from fastapi import FastAPI

from patron_segmentation.adapters.memberships import tenants
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.membership import sweep_time_relative_segments
from patron_segmentation.settings import SegmentationSettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.segmentation.sweep")


async def sweep_all_tenants(runtime: ServiceRuntime) -> int:
    """One sweep over every tenant; returns how many customers moved in all."""
    moved = 0
    for tenant in await tenants(runtime.engine):
        try:
            changes = await sweep_time_relative_segments(
                runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant), utcnow()
            )
        except Exception:
            log.exception(
                "segment sweep failed for a tenant; the next sweep retries", tenant=tenant
            )
            continue
        moved += sum(entered + exited for entered, exited in changes.values())
    return moved


async def sweep_and_log(runtime: ServiceRuntime) -> None:
    moved = await sweep_all_tenants(runtime)
    if moved:
        log.info("time-relative segments swept", moved=moved)


def sweep_segments_with(app: FastAPI, settings: SegmentationSettings) -> None:
    """Run the sweep beside the service (unless the interval is 0), stopping with it."""
    runtime: ServiceRuntime = app.state.runtime
    run_periodically(
        app, "segment-sweep", lambda: sweep_and_log(runtime), settings.sweep_interval_seconds
    )
