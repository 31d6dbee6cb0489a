"""Wiring of the loyalty service: `uvicorn patron_loyalty.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from patron_loyalty.adapters.tables import messaging
from patron_loyalty.api.credit import build_credit_router
from patron_loyalty.api.export import build_export_router
from patron_loyalty.api.members import build_members_router
from patron_loyalty.api.points import build_points_router
from patron_loyalty.consumers.credit import build_credit_lifecycle_consumer
from patron_loyalty.consumers.customers import build_customer_consumer
from patron_loyalty.consumers.lifecycle import build_points_lifecycle_consumer
from patron_loyalty.consumers.orders import build_order_consumer
from patron_loyalty.scheduler import run_daily_jobs_with
from patron_loyalty.settings import LoyaltySettings
from patron_shared.http import ServiceRuntime, create_service_app

SERVICE_NAME = "loyalty"


def create_app(settings: LoyaltySettings | None = None) -> FastAPI:
    settings = settings or LoyaltySettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    app = create_service_app(
        runtime,
        title="Patron loyalty service",
        routers=[
            build_members_router(),
            build_points_router(),
            build_credit_router(),
            build_export_router(),
        ],
        consumers=[
            build_customer_consumer(runtime),
            build_order_consumer(runtime),
            build_points_lifecycle_consumer(runtime),
            build_credit_lifecycle_consumer(runtime),
        ],
    )
    run_daily_jobs_with(app, settings)
    return app
