"""The erasure consumer: every service's `ErasureAcknowledged` -> the erasure's status."""

from __future__ import annotations

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.erasures import record_acknowledgement
from patron_shared.events import ErasureAcknowledged, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ERASURE_CONSUMER = "profile.erasure-acknowledgements"


def build_erasure_consumer(runtime: ServiceRuntime) -> EventConsumer[ProfileUnitOfWork]:
    consumer = runtime.event_consumer(ERASURE_CONSUMER, [Topic.ERASURE_EVENTS], ProfileUnitOfWork)
    consumer.on(ErasureAcknowledged, record_acknowledgement)
    return consumer
