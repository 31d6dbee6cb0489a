"""End-to-end fixtures: the running local stack (`make run` / `patron stack up`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from patron_shared.testing import KafkaProbe, bearer_headers, read_stack_env, unique_tenant


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    env = read_stack_env()
    if "PATRON_GATEWAY_URL" not in env:
        pytest.fail("the local stack is not running: start it with `make run` (or `make test`)")
    return env


@pytest.fixture
async def gateway(stack: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack["PATRON_GATEWAY_URL"], timeout=15) as client:
        yield client


@pytest.fixture
async def probe(stack: dict[str, str]) -> AsyncIterator[KafkaProbe]:
    kafka = KafkaProbe(stack["PATRON_KAFKA_BOOTSTRAP"])
    await kafka.start()
    yield kafka
    await kafka.stop()


@pytest.fixture
def tenant() -> str:
    return unique_tenant("e2e")


@pytest.fixture
def auth(stack: dict[str, str]) -> Callable[..., dict[str, str]]:
    def headers(tenant: str, *roles: str) -> dict[str, str]:
        return bearer_headers(tenant, *roles, secret=stack["PATRON_JWT_SECRET"])

    return headers
