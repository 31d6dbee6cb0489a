"""Wiring of the notifications service: `uvicorn patron_notifications.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from patron_notifications.adapters.tables import messaging
from patron_notifications.api.contacts import build_contacts_router
from patron_notifications.api.deliveries import build_deliveries_router
from patron_notifications.api.sms_status import build_sms_status_router
from patron_notifications.api.templates import build_templates_router
from patron_notifications.consumers.customers import build_customer_consumer
from patron_notifications.consumers.loyalty import build_loyalty_consumer
from patron_notifications.consumers.orders import build_order_consumer
from patron_notifications.service.messages import Messenger
from patron_notifications.settings import NotificationsSettings
from patron_notifications.worker import run_delivery_worker_with
from patron_shared.http import ServiceRuntime, create_service_app

SERVICE_NAME = "notifications"


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    # what every trigger, command and campaign queues messages through
    messenger = Messenger(settings.messaging_defaults(), settings.unsubscribe_url)
    app = create_service_app(
        runtime,
        title="Patron notifications service",
        routers=[
            build_contacts_router(settings),
            build_templates_router(),
            build_deliveries_router(),
            build_sms_status_router(settings),
        ],
        consumers=[
            build_customer_consumer(runtime),
            build_order_consumer(runtime),
            build_loyalty_consumer(runtime),
        ],
    )
    app.state.messenger = messenger
    run_delivery_worker_with(app, settings)
    return app
