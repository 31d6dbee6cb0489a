"""The service runtime (settings, engine, broker) and the FastAPI app every service builds.

The broker is a plain FastStream `KafkaBroker` started and stopped in FastAPI's lifespan;
consumers are subscribed before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from patron_shared.auth import Principal, TokenVerifier
from patron_shared.db import MessagingTables, UnitOfWork, create_engine, create_session_factory
from patron_shared.db.reads import PointReads
from patron_shared.events import Envelope
from patron_shared.heap import settle_heap
from patron_shared.http.middleware import RequestContextMiddleware
from patron_shared.http.problems import install_problem_handlers, problem_response
from patron_shared.http.query import StrictQueryRoute, api_router
from patron_shared.http.security import document_bearer_security
from patron_shared.logging import configure_logging, get_logger
from patron_shared.messaging import (
    DeadLetterPublisher,
    EventConsumer,
    OutboxRelay,
    RetryPolicy,
    create_broker,
    create_producer,
)
from patron_shared.settings import ServiceSettings

log = get_logger("patron.app")
UowT = TypeVar("UowT", bound=UnitOfWork)


@dataclass
class ServiceRuntime:
    """What one service process holds for its lifetime."""

    name: str
    settings: ServiceSettings
    messaging: MessagingTables
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    broker: KafkaBroker
    point_reads: PointReads
    consumers: list[EventConsumer[Any]] = field(default_factory=list)

    @classmethod
    def create(
        cls, name: str, settings: ServiceSettings, messaging: MessagingTables
    ) -> ServiceRuntime:
        engine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size, application_name=name
        )
        return cls(
            name=name,
            settings=settings,
            messaging=messaging,
            engine=engine,
            session_factory=create_session_factory(engine),
            broker=create_broker(
                settings.kafka_bootstrap, client_id=name, compression=settings.kafka_compression
            ),
            point_reads=PointReads(
                settings.database_url,
                size=settings.database_read_pool_size,
                application_name=f"{name}-reads",
            ),
        )

    def unit_of_work(
        self,
        uow_class: type[UowT],
        *,
        tenant_id: str,
        correlation_id: str | None = None,
        caller: Principal | None = None,
    ) -> UowT:
        """A unit of work for a request made on behalf of `tenant_id` (by `caller`)."""
        return uow_class(
            self.session_factory,
            self.messaging,
            tenant_id=tenant_id,
            source=self.name,
            correlation_id=correlation_id,
            point_reads=self.point_reads.for_tenant(tenant_id),
            caller=caller,
            settings=self.settings,
        )

    def event_consumer(
        self, name: str, topics: Sequence[str], uow_class: type[UowT]
    ) -> EventConsumer[UowT]:
        """A consumer group whose handlers each get a unit of work for their delivery (or,
        registered with `on_batch`, for their batch of deliveries)."""

        def unit_of_work_for(envelope: Envelope, consumer: str) -> UowT:
            return uow_class.for_delivery(
                self.session_factory,
                self.messaging,
                source=self.name,
                consumer=consumer,
                envelope=envelope,
                settings=self.settings,
            )

        def unit_of_work_for_batch(
            tenant_id: str, envelopes: Sequence[Envelope], consumer: str
        ) -> UowT:
            return uow_class.for_deliveries(
                self.session_factory,
                self.messaging,
                source=self.name,
                consumer=consumer,
                tenant_id=tenant_id,
                envelopes=envelopes,
                settings=self.settings,
            )

        return EventConsumer(
            name=self.settings.consumer_group_prefix + name,
            topics=topics,
            uow_factory=unit_of_work_for,
            batch_uow_factory=unit_of_work_for_batch,
            batch_concurrency=self.settings.consumer_batch_concurrency,
            batch_max_records=self.settings.consumer_batch_max_records,
            retry=RetryPolicy.from_settings(self.settings),
            offset_reset=self.settings.consumer_offset_reset,
            concurrency=self.settings.consumer_concurrency,
            commit_interval_s=self.settings.consumer_commit_interval_ms / 1000,
        )


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    consumers: Sequence[EventConsumer[Any]] = (),
) -> FastAPI:
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, StrictQueryRoute):
            raise TypeError(f"{route!r} is not declared on patron_shared.http.api_router")
    settings = runtime.settings
    configure_logging(level=settings.log_level, fmt=settings.log_format, service=runtime.name)
    dead_letters = DeadLetterPublisher(runtime.broker)
    for consumer in consumers:
        consumer.subscribe(runtime.broker, dead_letters)
    runtime.consumers = list(consumers)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.point_reads.open()
        await runtime.broker.start()
        relay_task: asyncio.Task[None] | None = None
        relay_producer: AIOKafkaProducer | None = None
        stop_relay = asyncio.Event()
        if settings.outbox_relay_in_process:
            relay_producer = create_producer(
                settings.kafka_bootstrap,
                client_id=f"{runtime.name}-relay",
                compression=settings.kafka_compression,
            )
            await relay_producer.start()
            relay = OutboxRelay(
                runtime.engine,
                runtime.messaging,
                relay_producer,
                batch_size=settings.outbox_batch_size,
                poll_interval_s=settings.outbox_poll_interval_ms / 1000,
                retention=timedelta(hours=settings.outbox_retention_hours),
                inbox_retention=timedelta(days=settings.inbox_retention_days),
            )
            relay_task = asyncio.create_task(relay.run(stop_relay))
        settle_heap()
        log.info("service started", consumers=[c.name for c in consumers])
        try:
            yield
        finally:
            stop_relay.set()
            if relay_task is not None:
                await relay_task
            if relay_producer is not None:
                await relay_producer.stop()
            for consumer in consumers:  # while the clients can still commit
                await consumer.offsets.close()
            await runtime.broker.stop()
            await runtime.point_reads.close()
            await runtime.engine.dispose()
            log.info("service stopped")

    app = FastAPI(
        title=title,
        version=version,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(settings)
    document_bearer_security(app)
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    for router in (_operations_router(runtime), *routers):
        # The routers' routes already carry their full paths, tags and dependencies. Put on
        # the application's own router they are matched in one pass over a flat list, where
        # an included router is matched router by router, and twice for the one chosen.
        app.router.routes.extend(router.routes)
    return app


def _operations_router(runtime: ServiceRuntime) -> APIRouter:
    router = api_router(tags=["operations"])

    @router.get("/health", summary="Liveness: the process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get("/ready", summary="Readiness: the database and the broker answer")
    async def ready(request: Request) -> Response:
        checks = {
            "database": await _database_ok(runtime.engine),
            "broker": await _broker_ok(runtime.broker),
        }
        if all(checks.values()):
            return JSONResponse({"status": "ready", "service": runtime.name, "checks": checks})
        failed = ", ".join(name for name, ok in checks.items() if not ok)
        return problem_response(
            request, status=503, detail=f"not ready: {failed} unavailable", checks=checks
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _database_ok(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _broker_ok(broker: KafkaBroker) -> bool:
    try:
        return bool(await broker.ping(timeout=2))
    except Exception:
        return False
