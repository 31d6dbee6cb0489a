"""Wiring of the notifications service: `uvicorn patron_notifications.app:create_app --factory`."""

from __future__ import annotations

import asyncio
from functools import partial

from fastapi import FastAPI

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork, list_due_campaigns
from patron_notifications.adapters.deliveries import (
    expire_waiting_deliveries,
    purge_early_sms_reports,
)
from patron_notifications.adapters.repository import notifications_tenants
from patron_notifications.adapters.tables import messaging
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.api.campaigns import build_campaigns_router
from patron_notifications.api.contacts import build_contacts_router
from patron_notifications.api.deliveries import build_deliveries_router
from patron_notifications.api.export import build_export_router
from patron_notifications.api.messaging_settings import build_messaging_settings_router
from patron_notifications.api.preferences import build_preferences_router
from patron_notifications.api.sms_status import build_sms_status_router
from patron_notifications.api.templates import build_templates_router
from patron_notifications.api.unsubscribe import build_unsubscribe_router
from patron_notifications.consumers.commands import build_command_consumer
from patron_notifications.consumers.customers import build_customer_consumer
from patron_notifications.consumers.identity import build_identity_consumer
from patron_notifications.consumers.loyalty import build_loyalty_consumer
from patron_notifications.consumers.orders import build_order_consumer
from patron_notifications.consumers.segment_members import build_segment_members_consumer
from patron_notifications.consumers.segments import build_segment_trigger_consumer
from patron_notifications.service.birthdays import send_birthday_messages_to_all
from patron_notifications.service.campaign_runner import run_campaign_runner_with
from patron_notifications.service.messages import Messenger, expire_waiting_messages
from patron_notifications.service.sms_status import purge_unclaimed_early_reports
from patron_notifications.service.triggers import Triggers
from patron_notifications.settings import NotificationsSettings
from patron_notifications.worker import run_delivery_worker_with
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, create_service_app, run_periodically

SERVICE_NAME = "notifications"


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime.create(SERVICE_NAME, settings, messaging)
    # what every trigger, command and campaign queues messages through
    messenger = Messenger(
        settings.messaging_defaults(),
        settings.unsubscribe_url,
        wait_limit=settings.wait_for_customer(),
    )
    triggers = Triggers(messenger, settings.trigger_max_age())
    campaigns_due = asyncio.Event()  # a campaign to send now: the runner starts at once
    app = create_service_app(
        runtime,
        title="Patron notifications service",
        routers=[
            build_contacts_router(settings),
            build_templates_router(),
            build_deliveries_router(),
            build_messaging_settings_router(messenger.defaults),
            build_sms_status_router(settings),
            build_unsubscribe_router(settings),
            build_preferences_router(settings),
            build_campaigns_router(messenger, campaigns_due),
            build_export_router(),
        ],
        consumers=[
            build_customer_consumer(runtime, triggers),
            build_order_consumer(runtime, triggers),
            build_loyalty_consumer(runtime, triggers),
            build_segment_trigger_consumer(runtime, triggers),
            build_command_consumer(runtime, triggers),
            build_identity_consumer(runtime),
            build_segment_members_consumer(runtime),
        ],
    )
    app.state.messenger = messenger
    run_delivery_worker_with(app, settings)
    run_campaign_runner_with(
        app,
        partial(list_due_campaigns, runtime.engine),
        lambda tenant: runtime.unit_of_work(CampaignsUnitOfWork, tenant_id=tenant),
        messenger,
        interval_s=settings.campaign_runner_interval_seconds,
        chunk_size=settings.campaign_chunk_size,
        wake=campaigns_due,
    )
    run_periodically(
        app,
        "birthday-job",
        lambda: send_birthday_messages_to_all(
            partial(notifications_tenants, runtime.engine),
            lambda tenant: runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant),
            messenger,
            utcnow,
        ),
        settings.birthday_job_interval_seconds,
    )

    async def expire() -> None:
        """Every tenant's messages that waited too long for a customer never seen are
        skipped, and SMS reports about sids never recorded forgotten."""
        now = utcnow()
        await expire_waiting_messages(
            partial(expire_waiting_deliveries, runtime.engine),
            now=now,
            wait_limit=messenger.wait_limit,
        )
        await purge_unclaimed_early_reports(
            partial(purge_early_sms_reports, runtime.engine), now=now
        )

    run_periodically(app, "expiry", expire, settings.waiting_expiry_interval_seconds)
    return app
