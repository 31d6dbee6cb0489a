"""Wiring of the segmentation service: `uvicorn patron_segmentation.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from patron_segmentation.adapters.tables import messaging
from patron_segmentation.api.builtins import build_builtin_router
from patron_segmentation.api.export import build_export_router
from patron_segmentation.api.facts import build_facts_router
from patron_segmentation.api.insights import build_insights_router
from patron_segmentation.api.reports import build_reports_router
from patron_segmentation.api.rfm import build_rfm_router
from patron_segmentation.api.segments import build_segments_router
from patron_segmentation.consumers.customers import (
    build_customer_consumer,
    build_loyalty_consumer,
    build_notification_consumer,
    build_unmerge_consumer,
)
from patron_segmentation.consumers.orders import build_order_consumer
from patron_segmentation.settings import SegmentationSettings
from patron_segmentation.sweeper import sweep_segments_with
from patron_shared.http import ServiceRuntime, create_service_app

SERVICE_NAME = "segmentation"


def create_app(settings: SegmentationSettings | None = None) -> FastAPI:
    settings = settings or SegmentationSettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    app = create_service_app(
        runtime,
        title="Patron segmentation service",
        routers=[
            build_facts_router(),
            build_segments_router(),
            build_builtin_router(settings),
            build_rfm_router(),
            build_insights_router(settings),
            build_reports_router(settings),
            build_export_router(),
        ],
        consumers=[
            build_customer_consumer(runtime),
            build_order_consumer(runtime),
            build_unmerge_consumer(runtime),
            build_loyalty_consumer(runtime),
            build_notification_consumer(runtime),
        ],
    )
    sweep_segments_with(app, settings)
    return app
