"""Identity test fixtures: a migrated throwaway database and the app on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from patron_identity.app import create_app
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime
from patron_shared.testing import (
    ServiceDatabase,
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
    unique_tenant,
)

SERVICE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def superuser_url() -> str:
    return resolve_database_url()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return resolve_kafka_bootstrap()


@pytest.fixture(scope="session")
def identity_database(superuser_url: str) -> Iterator[ServiceDatabase]:
    database = create_service_database(SERVICE_DIR, superuser_url, "test_identity")
    yield database
    drop_database(superuser_url, database.name)


@pytest.fixture(scope="session")
async def identity_app(
    identity_database: ServiceDatabase, kafka_bootstrap: str
) -> AsyncIterator[FastAPI]:
    """The app as the process builds it; its broker publishes (dead letters) but no
    subscriber runs, so tests hand records to the consumer themselves."""
    settings = IdentitySettings(
        env="test",
        database_url=identity_database.app_url,
        kafka_bootstrap=kafka_bootstrap,
        log_format="console",
        log_level="WARNING",
        consumer_group_prefix=f"test-{uuid.uuid4().hex[:8]}-",
        consumer_max_attempts=2,
        consumer_retry_backoff_ms=10,
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.broker.connect()
    yield app
    await runtime.broker.stop()
    await runtime.engine.dispose()


@pytest.fixture
def runtime(identity_app: FastAPI) -> ServiceRuntime:
    return identity_app.state.runtime  # type: ignore[no-any-return]


@pytest.fixture
async def client(identity_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=identity_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as http:
        yield http


@pytest.fixture
def tenant() -> str:
    return unique_tenant("identity")
