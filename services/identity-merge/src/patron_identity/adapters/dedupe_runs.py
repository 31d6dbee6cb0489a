"""Dedupe runs in PostgreSQL: the runs table, the customers a run reads, and run leases.

A lease is a session advisory lock on the run's key, held on a connection of its own for as
long as the run executes: if the process stops or dies, PostgreSQL drops the lock with the
connection, and whoever looks next sees the run was interrupted.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from patron_identity.adapters.tables import dedupe_runs, identity_customers
from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.dedupe_runs import ACTIVE_STATUSES, DedupeRun, RunCursor

_RUN_FIELDS = (
    "status",
    "phase",
    "customers_total",
    "customers_scanned",
    "pairs_compared",
    "merges",
    "suggestions",
    "started_at",
    "finished_at",
    "error",
)
# What matching reads of a customer (IdentityCustomer.person_record) and the survivor order.
_FEATURE_COLUMNS = (
    "customer_id",
    "source_updated_at",
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "created_at",
)
_ACTIVE = dedupe_runs.c.status.in_(ACTIVE_STATUSES)


def lock_key(run_id: uuid.UUID) -> int:
    """The run's advisory lock key: its id's first 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(run_id.bytes[:8], "big", signed=True)


class SqlDedupeRunRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, run: DedupeRun) -> bool:
        """Insert a queued run; False when the tenant already has an active one."""
        values = {name: getattr(run, name) for name in _RUN_FIELDS}
        result = await self._session.execute(
            pg_insert(dedupe_runs)
            .values(
                tenant_id=self._tenant_id,
                id=run.id,
                estimate_model=run.estimate_model,
                requested_by=run.requested_by,
                created_at=run.created_at,
                lock_key=lock_key(run.id),
                **values,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"], index_where=_ACTIVE)
            .returning(dedupe_runs.c.id)
        )
        return result.first() is not None

    async def get(self, run_id: uuid.UUID) -> DedupeRun | None:
        row = (
            await self._session.execute(
                select(dedupe_runs).where(
                    dedupe_runs.c.tenant_id == self._tenant_id, dedupe_runs.c.id == run_id
                )
            )
        ).first()
        return None if row is None else _to_run(row)

    async def active(self) -> DedupeRun | None:
        row = (
            await self._session.execute(
                select(dedupe_runs).where(dedupe_runs.c.tenant_id == self._tenant_id, _ACTIVE)
            )
        ).first()
        return None if row is None else _to_run(row)

    async def page(self, *, after: RunCursor | None, limit: int) -> list[DedupeRun]:
        """Newest first."""
        query = select(dedupe_runs).where(dedupe_runs.c.tenant_id == self._tenant_id)
        if after is not None:
            query = query.where(
                tuple_(dedupe_runs.c.created_at, dedupe_runs.c.id)
                < tuple_(after.created_at, after.id)
            )
        query = query.order_by(dedupe_runs.c.created_at.desc(), dedupe_runs.c.id.desc())
        rows = (await self._session.execute(query.limit(limit))).all()
        return [_to_run(row) for row in rows]

    async def save(self, run: DedupeRun) -> None:
        await self._session.execute(
            update(dedupe_runs)
            .where(dedupe_runs.c.tenant_id == self._tenant_id, dedupe_runs.c.id == run.id)
            .values(**{name: getattr(run, name) for name in _RUN_FIELDS}, updated_at=func.now())
        )

    async def interrupt_orphans(self, reason: str) -> int:
        """Fail this tenant's active runs that no process holds the lease of."""
        result = await self._session.execute(
            update(dedupe_runs)
            .where(
                dedupe_runs.c.tenant_id == self._tenant_id,
                _ACTIVE,
                # released at commit: only asks whether anyone holds it
                func.pg_try_advisory_xact_lock(dedupe_runs.c.lock_key),
            )
            .values(
                status="failed",
                phase=None,
                error=reason,
                finished_at=func.now(),
                updated_at=func.now(),
            )
            .returning(dedupe_runs.c.id)
        )
        return len(result.all())

    async def count_customers(self) -> int:
        query = (
            select(func.count())
            .select_from(identity_customers)
            .where(_matchable(), identity_customers.c.tenant_id == self._tenant_id)
        )
        return int((await self._session.execute(query)).scalar_one())

    async def customers(self, *, batch_size: int) -> AsyncIterator[list[IdentityCustomer]]:
        """The tenant's matchable customers, oldest first (the survivor order), in batches."""
        columns = [identity_customers.c[name] for name in _FEATURE_COLUMNS]
        query = (
            select(*columns)
            .where(_matchable(), identity_customers.c.tenant_id == self._tenant_id)
            .order_by(identity_customers.c.created_at, identity_customers.c.customer_id)
            .execution_options(yield_per=batch_size)
        )
        result = await self._session.stream(query)
        async for rows in result.partitions():
            yield [IdentityCustomer(**row._asdict()) for row in rows]


def _matchable() -> Any:
    c = identity_customers.c
    return and_(
        c.deleted_at.is_(None),
        c.merged_into.is_(None),
        # an erased customer keeps nothing to match on
        or_(
            c.email.is_not(None),
            c.phone.is_not(None),
            c.first_name.is_not(None),
            c.last_name.is_not(None),
        ),
    )


def _to_run(row: Row[Any]) -> DedupeRun:
    return DedupeRun(
        id=row.id,
        estimate_model=row.estimate_model,
        requested_by=row.requested_by,
        created_at=row.created_at,
        **{name: getattr(row, name) for name in _RUN_FIELDS},
    )


class RunLease:
    """A held advisory lock on one run's key; `release()` once the run is over."""

    def __init__(self, connection: AsyncConnection, key: int) -> None:
        self._connection = connection
        self._key = key

    async def release(self) -> None:
        try:
            await self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
            )
            await self._connection.commit()
        finally:
            # closing drops the lock anyway
            await self._connection.close()


class SqlRunLeases:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def acquire(self, run_id: uuid.UUID) -> RunLease:
        connection = await self._engine.connect()
        try:
            key = lock_key(run_id)
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            # the lock belongs to the session: end the transaction, keep the connection
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        return RunLease(connection, key)


async def interrupt_orphaned_runs(engine: AsyncEngine, reason: str) -> int:
    """Every tenant's active runs that no process executes any more -> failed."""
    async with engine.begin() as connection:
        result = await connection.execute(
            text("SELECT interrupt_orphaned_dedupe_runs(:reason)"), {"reason": reason}
        )
        return int(result.scalar_one())
