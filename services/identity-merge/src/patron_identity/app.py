"""Wiring of the identity service: `uvicorn patron_identity.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from patron_identity.adapters.tables import messaging
from patron_identity.api.identifiers import build_identifiers_router
from patron_identity.api.resolve import build_resolve_router
from patron_identity.consumers.customers import build_customer_consumer
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime, create_service_app

SERVICE_NAME = "identity"


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    return create_service_app(
        runtime,
        title="Patron identity service",
        routers=[build_identifiers_router(), build_resolve_router(settings)],
        consumers=[build_customer_consumer(runtime)],
    )
