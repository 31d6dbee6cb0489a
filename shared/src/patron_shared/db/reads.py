"""Point reads: one statement, one round trip, still scoped by row-level security.

A unit of work costs four round trips before it returns a row (BEGIN, the tenant's
`set_config`, the query, ROLLBACK) plus SQLAlchemy's bookkeeping around each. A read that is
a single SELECT needs none of that: outside a transaction it sees one snapshot anyway. These
connections keep the tenant that row-level security reads at session level and remember it,
so a connection that last served the same tenant answers in one round trip; switching tenant
costs one more. Only single statements run on them, outside transactions; one left open by
mistake is rolled back when the connection goes back to the pool.

Writes and multi-statement reads stay in the unit of work.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import SQLCompiler

from patron_shared.db.engine import session_settings

TENANT_SETTING = "patron.tenant_id"


@dataclass(frozen=True)
class PointQuery:
    """A SQLAlchemy statement compiled once to asyncpg's SQL, with its parameters' order.

    Parameters declared with `bindparam(name)` take the caller's values; the literals the
    statement was built with (an `OFFSET 0`, a `> 0`) keep theirs.
    """

    sql: str
    parameters: tuple[str, ...]
    literals: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, statement: ClauseElement) -> PointQuery:
        compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        assert isinstance(compiled, SQLCompiler)
        parameters = tuple(compiled.positiontup or ())
        literals = {
            name: compiled.binds[name].value
            for name in parameters
            if not compiled.binds[name].required
        }
        return cls(str(compiled), parameters, literals)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's arguments in order; a missing value is a KeyError naming it."""
        literals = self.literals
        return [
            values[name] if name in values or name not in literals else literals[name]
            for name in self.parameters
        ]


class TenantScopedConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that remembers which tenant its session is scoped to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scoped_tenant: str | None = None

    async def scope_to(self, tenant_id: str) -> None:
        if self.scoped_tenant == tenant_id:
            return
        # Forget first: if the statement fails midway the session's tenant is unknown.
        self.scoped_tenant = None
        await self.execute(f"SELECT set_config('{TENANT_SETTING}', $1, false)", tenant_id)
        self.scoped_tenant = tenant_id


async def _decode_json(connection: asyncpg.Connection) -> None:
    # The same JSON values the SQLAlchemy side returns (dicts and lists, not strings).
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session_tenant(connection: asyncpg.Connection) -> None:
    """Pool reset. asyncpg's own cleanup before it rolls back a transaction left open (and
    with it anything set inside); the default `RESET ALL` would also drop the session's
    tenant, which is what these connections keep, and cost a round trip per read."""


def asyncpg_dsn(database_url: str) -> str:
    """`postgresql+asyncpg://...` (the SQLAlchemy URL every setting uses) for asyncpg."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PointReads:
    """A small pool of tenant-scoped connections for single-statement reads."""

    def __init__(self, database_url: str, *, size: int, application_name: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._size = size
        self._application_name = application_name
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=self._size,
            connection_class=TenantScopedConnection,
            init=_decode_json,
            reset=_keep_session_tenant,
            max_inactive_connection_lifetime=300,
            server_settings=session_settings(self._application_name),
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("point reads are not open (the app's lifespan opens them)")
        return self._pool

    @contextlib.asynccontextmanager
    async def connection(self, tenant_id: str) -> AsyncIterator[TenantScopedConnection]:
        """A connection whose statements see only `tenant_id`'s rows."""
        async with self.pool.acquire() as connection:
            await connection.scope_to(tenant_id)
            yield connection

    def for_tenant(self, tenant_id: str) -> TenantReads:
        return TenantReads(self, tenant_id)


@dataclass(frozen=True)
class TenantReads:
    """Point reads on behalf of one tenant (what a request or a repository holds)."""

    reads: PointReads
    tenant_id: str

    async def fetch_one(self, query: PointQuery, **values: Any) -> asyncpg.Record | None:
        # `connection()` inlined: a generator-based context manager costs more than the rest
        # of this on a read of a customer by id.
        async with self.reads.pool.acquire() as connection:
            await connection.scope_to(self.tenant_id)
            row: asyncpg.Record | None = await connection.fetchrow(
                query.sql, *query.arguments(values)
            )
            return row

    async def fetch_all(self, query: PointQuery, **values: Any) -> list[asyncpg.Record]:
        async with self.reads.pool.acquire() as connection:
            await connection.scope_to(self.tenant_id)
            rows: list[asyncpg.Record] = await connection.fetch(query.sql, *query.arguments(values))
            return rows
