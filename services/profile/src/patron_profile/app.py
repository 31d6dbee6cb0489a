"""Wiring of the profile service: `uvicorn patron_profile.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from patron_profile.adapters.tables import messaging
from patron_profile.api.addresses import build_addresses_router
from patron_profile.api.bulk_export import build_bulk_export_router
from patron_profile.api.consents import build_consents_router
from patron_profile.api.customers import build_customers_router
from patron_profile.api.erasures import build_erasures_router
from patron_profile.api.export import build_export_router
from patron_profile.api.groups import build_groups_router
from patron_profile.api.imports import build_imports_router
from patron_profile.api.merges import build_merges_router
from patron_profile.api.metadata import build_metadata_router
from patron_profile.api.notes import build_notes_router
from patron_profile.api.tags import build_tags_router
from patron_profile.api.timeline import build_timeline_router
from patron_profile.consumers.commands import build_command_consumers
from patron_profile.consumers.erasures import build_erasure_consumer
from patron_profile.consumers.orders import build_order_consumer
from patron_profile.consumers.read_models import build_read_model_consumers
from patron_profile.consumers.timeline import build_timeline_consumer
from patron_profile.dead_letter_job import scrub_dead_letters_with
from patron_profile.import_runner import resume_imports_with
from patron_profile.settings import ProfileSettings
from patron_shared.http import ServiceRuntime, create_service_app

SERVICE_NAME = "profile"


def create_app(settings: ProfileSettings | None = None) -> FastAPI:
    settings = settings or ProfileSettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    app = create_service_app(
        runtime,
        title="Patron profile service",
        # Tags first: its /customers/bulk/... paths must win over /customers/{id}.
        routers=[
            build_tags_router(settings),
            # /customers/export before /customers/{id} too.
            build_bulk_export_router(),
            build_customers_router(settings),
            build_addresses_router(settings),
            build_notes_router(settings),
            build_metadata_router(settings),
            build_consents_router(settings),
            build_groups_router(settings),
            build_imports_router(settings),
            build_timeline_router(settings),
            build_export_router(settings),
            build_merges_router(),
            build_erasures_router(),
        ],
        consumers=[
            build_order_consumer(runtime),
            *build_read_model_consumers(runtime),
            build_timeline_consumer(runtime),
            *build_command_consumers(runtime, settings),
            build_erasure_consumer(runtime),
        ],
    )
    scrub_dead_letters_with(app, settings)
    resume_imports_with(app, settings)
    return app
