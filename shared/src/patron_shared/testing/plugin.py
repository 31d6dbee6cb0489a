"""Pytest fixtures every service's tests share (registered by the root conftest.py).

The real PostgreSQL and Kafka are found once per session here. A service's
`tests/conftest.py` says which service it is and takes its fixtures from `service_fixtures`:
a freshly migrated database, settings pointing at it and at the real broker, the app, an
HTTP client, a unique tenant and an admin's headers for it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import FastAPI

from patron_shared.http import ServiceRuntime
from patron_shared.settings import ServiceSettings
from patron_shared.testing.auth import bearer_headers
from patron_shared.testing.infra import (
    ServiceDatabase,
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
    stop_containers,
)
from patron_shared.testing.kafka import unique_tenant, wait_for_assignment


@dataclass(frozen=True)
class ServiceUnderTest:
    name: str
    directory: Path  # holds alembic.ini
    settings_class: type[ServiceSettings]
    create_app: Callable[[Any], FastAPI]
    # True: the app's consumers run on the real broker (tests publish to Kafka). False: the
    # broker only publishes (dead letters) and tests hand records to consumers themselves.
    run_consumers: bool = False


def pytest_sessionfinish() -> None:
    """Stop the containers testcontainers started for this test run, if any."""
    stop_containers()


@pytest.fixture(scope="session")
def superuser_url() -> str:
    return resolve_database_url()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return resolve_kafka_bootstrap()


class ServiceFixtures(NamedTuple):
    service_database: Any
    service_settings: Any
    service_app: Any
    runtime: Any
    client: Any
    tenant: Any
    admin: Any


def service_fixtures(service: ServiceUnderTest) -> ServiceFixtures:
    """Fixtures for one service; assign them in its conftest so that each service gets its
    own session-wide database and app (pytest caches a fixture per definition)."""

    @pytest.fixture(scope="session")
    def service_database(superuser_url: str) -> Iterator[ServiceDatabase]:
        database = create_service_database(service.directory, superuser_url, f"test_{service.name}")
        yield database
        drop_database(superuser_url, database.name)

    @pytest.fixture(scope="session")
    def service_settings(
        service_database: ServiceDatabase, kafka_bootstrap: str
    ) -> ServiceSettings:
        return service.settings_class(
            env="test",
            database_url=service_database.app_url,
            kafka_bootstrap=kafka_bootstrap,
            log_format="console",
            log_level="WARNING",
            # Own consumer groups, starting at the end: never steal a running stack's
            # partitions, never replay the topics' history.
            consumer_group_prefix=f"test-{uuid.uuid4().hex[:8]}-",
            consumer_offset_reset="latest",
            # one consumer per batch group: a second one joining makes every group
            # rebalance once at start, seconds each, in every test that starts the app
            consumer_batch_concurrency=1,
            consumer_max_attempts=2,
            consumer_retry_backoff_ms=10,
        )

    @pytest.fixture(scope="session")
    async def service_app(service_settings: ServiceSettings) -> AsyncIterator[FastAPI]:
        app = service.create_app(service_settings)
        app_runtime: ServiceRuntime = app.state.runtime
        if service.run_consumers:
            async with app.router.lifespan_context(app):
                await wait_for_assignment(app_runtime.broker)
                yield app
            return
        # without the lifespan: what it opens for requests (the broker to publish with,
        # the point reads), but no consumers
        await app_runtime.broker.connect()
        await app_runtime.point_reads.open()
        try:
            yield app
        finally:
            await app_runtime.point_reads.close()
            await app_runtime.broker.stop()
            await app_runtime.engine.dispose()

    @pytest.fixture
    def runtime(service_app: FastAPI) -> ServiceRuntime:
        service_runtime: ServiceRuntime = service_app.state.runtime
        return service_runtime

    @pytest.fixture
    async def client(service_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=service_app)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{service.name}"
        ) as http:
            yield http

    @pytest.fixture
    def tenant() -> str:
        return unique_tenant(service.name)

    @pytest.fixture
    def admin(tenant: str) -> dict[str, str]:
        return bearer_headers(tenant, "admin")

    return ServiceFixtures(
        service_database, service_settings, service_app, runtime, client, tenant, admin
    )
