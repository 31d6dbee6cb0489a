"""Profile test fixtures: a migrated throwaway database and the app on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from patron_profile.app import create_app
from patron_profile.settings import ProfileSettings
from patron_shared.testing import (
    ServiceDatabase,
    bearer_headers,
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
    unique_tenant,
    wait_for_assignment,
)

SERVICE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def superuser_url() -> str:
    return resolve_database_url()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return resolve_kafka_bootstrap()


@pytest.fixture(scope="session")
def profile_database(superuser_url: str) -> Iterator[ServiceDatabase]:
    database = create_service_database(SERVICE_DIR, superuser_url, "test_profile")
    yield database
    drop_database(superuser_url, database.name)


@pytest.fixture(scope="session")
def profile_settings(profile_database: ServiceDatabase, kafka_bootstrap: str) -> ProfileSettings:
    return ProfileSettings(
        env="test",
        database_url=profile_database.app_url,
        kafka_bootstrap=kafka_bootstrap,
        log_format="console",
        log_level="WARNING",
        # Own consumer groups, starting at the end: never steal the running stack's
        # partitions, never replay the topic's history.
        consumer_group_prefix=f"test-{uuid.uuid4().hex[:8]}-",
        consumer_offset_reset="latest",
        consumer_retry_backoff_ms=10,
    )


@pytest.fixture(scope="session")
async def profile_app(profile_settings: ProfileSettings) -> AsyncIterator[FastAPI]:
    app = create_app(profile_settings)
    async with app.router.lifespan_context(app):
        await wait_for_assignment(app.state.runtime.broker)
        yield app


@pytest.fixture
async def client(profile_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=profile_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://profile") as http:
        yield http


@pytest.fixture
def tenant() -> str:
    return unique_tenant("profile")


@pytest.fixture
def admin(tenant: str) -> dict[str, str]:
    return bearer_headers(tenant, "admin")
