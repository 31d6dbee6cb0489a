"""Finding (or starting) Kafka and PostgreSQL for tests, and migrated throwaway databases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[4]
_containers = ExitStack()


def read_stack_env(root: Path = REPO_ROOT) -> dict[str, str]:
    """The `KEY=value` lines `patron stack up` writes to `.stack/env` (empty when absent)."""
    path = Path(os.environ.get("PATRON_STACK_DIR", root / ".stack")) / "env"
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
    return values


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415 - optional

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


def resolve_kafka_bootstrap() -> str:
    if explicit := os.environ.get("PATRON_TEST_KAFKA_BOOTSTRAP"):
        return explicit
    if docker_available():
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415 - optional

        container = _containers.enter_context(KafkaContainer().with_kraft())
        return str(container.get_bootstrap_server())
    if stack := read_stack_env().get("PATRON_KAFKA_BOOTSTRAP"):
        return stack
    raise RuntimeError(
        "no Kafka for tests: set PATRON_TEST_KAFKA_BOOTSTRAP, or start the local stack "
        "(`make run`, or `uv run patron stack up --infra`)"
    )


def resolve_database_url() -> str:
    """A superuser DSN (`postgresql://...`) able to create databases."""
    if explicit := os.environ.get("PATRON_TEST_DATABASE_URL"):
        return explicit
    if docker_available():
        from testcontainers.postgres import PostgresContainer  # noqa: PLC0415 - optional

        container = _containers.enter_context(PostgresContainer("postgres:16", driver=None))
        return str(container.get_connection_url())
    if stack := read_stack_env().get("PATRON_PG_DSN"):
        return stack
    raise RuntimeError(
        "no PostgreSQL for tests: set PATRON_TEST_DATABASE_URL, or start the local stack "
        "(`make run`, or `uv run patron stack up --infra`)"
    )


@dataclass(frozen=True)
class ServiceDatabase:
    name: str
    owner_url: str  # asyncpg SQLAlchemy URL with the superuser (migrations, inspection)
    app_url: str  # the application role's URL: row-level security applies to it


APP_ROLE = "patron_app"
APP_PASSWORD = "patron_app"  # noqa: S105 - local test role


async def _admin(dsn: str, *statements: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _plain_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def create_service_database(service_dir: Path, superuser_url: str, prefix: str) -> ServiceDatabase:
    """A new database migrated to head with the service's Alembic scripts."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_create(superuser_url, name))
    owner = make_url(_plain_dsn(superuser_url, name)).set(drivername="postgresql+asyncpg")
    owner_url = owner.render_as_string(hide_password=False)
    app_url = owner.set(username=APP_ROLE, password=APP_PASSWORD).render_as_string(
        hide_password=False
    )
    database = ServiceDatabase(name=name, owner_url=owner_url, app_url=app_url)
    alembic(service_dir, database, "upgrade", "heads")
    return database


@asynccontextmanager
async def throwaway_database(
    service_dir: Path, superuser_url: str, prefix: str
) -> AsyncIterator[ServiceDatabase]:
    """A database of its own for one test (a migration's, say), migrated to head, dropped
    afterwards. Created in a thread: the test's event loop may be running consumers."""
    created = await asyncio.to_thread(create_service_database, service_dir, superuser_url, prefix)
    try:
        yield created
    finally:
        await asyncio.to_thread(drop_database, superuser_url, created.name)


def alembic(service_dir: Path, database: ServiceDatabase, *command: str) -> None:
    """Run an Alembic command (`upgrade head`, `downgrade 0006`) of the service's scripts
    on `database`, as its owner. Blocking: from async code, run it in a thread."""
    env = os.environ | {
        "PATRON_MIGRATION_DATABASE_URL": database.owner_url,
        "PATRON_DB_APP_ROLE": APP_ROLE,
    }
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(service_dir / "alembic.ini"), *command],
        check=True,
        env=env,
        cwd=service_dir,
        capture_output=True,
    )


async def migrate(service_dir: Path, database: ServiceDatabase, *command: str) -> None:
    """`alembic` from async code, in a thread: the test's event loop may be running the
    service's consumers, whose heartbeats must not stop while a migration runs."""
    await asyncio.to_thread(alembic, service_dir, database, *command)


async def owner_fetch(database: ServiceDatabase, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of one statement run as the database's owner (row-level security aside)."""
    connection = await asyncpg.connect(_plain_dsn(database.owner_url))
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def _create(superuser_url: str, name: str) -> None:
    admin = _plain_dsn(superuser_url, "postgres")
    connection = await asyncpg.connect(admin)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", APP_ROLE)
        if not exists:
            await connection.execute(
                f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}' NOSUPERUSER NOBYPASSRLS"
            )
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def drop_database(superuser_url: str, name: str) -> None:
    async def drop() -> None:
        await _admin(
            _plain_dsn(superuser_url, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )

    asyncio.run(drop())


def stop_containers() -> None:
    _containers.close()


async def row_security_of(
    database: ServiceDatabase, tables: list[str]
) -> tuple[dict[str, bool], str | None]:
    """Which of `tables` have row-level security on, and the Alembic revision applied."""
    from sqlalchemy import text  # noqa: PLC0415 - keeps this module's import light
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    engine = create_async_engine(database.owner_url)
    try:
        async with engine.connect() as connection:
            secured = await connection.execute(
                text("SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY(:names)"),
                {"names": tables},
            )
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    return {name: bool(on) for name, on in secured.all()}, version
