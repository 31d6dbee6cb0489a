"""Wiring of the identity service: `uvicorn patron_identity.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from patron_identity.adapters.tables import messaging
from patron_identity.api.connectors import build_connectors_router
from patron_identity.api.dedupe import (
    build_dedupe_file_router,
    build_dedupe_runs_router,
    dedupe_runner,
    run_dedupe_runs_with,
)
from patron_identity.api.duplicates import build_duplicates_router
from patron_identity.api.export import build_export_router
from patron_identity.api.graph import build_graph_router
from patron_identity.api.identifiers import build_identifiers_router
from patron_identity.api.policy import build_policy_router
from patron_identity.api.resolve import build_resolve_router
from patron_identity.api.sources import build_sources_router
from patron_identity.api.unmerge import build_unmerge_router
from patron_identity.api.webhooks import build_webhooks_router
from patron_identity.consumers.customers import build_customer_consumer
from patron_identity.housekeeping import keep_tables_tidy_with
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime, create_service_app

SERVICE_NAME = "identity"


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    runner = dedupe_runner(runtime)
    app = create_service_app(
        runtime,
        title="Patron identity service",
        routers=[
            build_identifiers_router(),
            build_resolve_router(settings),
            build_graph_router(),
            build_unmerge_router(),
            build_connectors_router(settings),
            build_webhooks_router(settings),
            build_sources_router(settings),
            build_duplicates_router(),
            build_policy_router(),
            build_dedupe_file_router(settings),
            build_dedupe_runs_router(runner),
            build_export_router(),
        ],
        consumers=[build_customer_consumer(runtime, settings.normalization_rules())],
    )
    run_dedupe_runs_with(app, runner)
    keep_tables_tidy_with(app, settings)
    return app
