"""Import jobs, their error reports, and the set-based customer writes of an import.

A batch of imported rows is written with one statement per kind of write: the customers it
creates (`INSERT ... SELECT` from one JSON parameter, skipping an email another transaction
took meanwhile), the customers it changes (`UPDATE ... FROM`), its error rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from patron_profile.adapters.repository import customer_from_row
from patron_profile.adapters.tables import customers, metadata
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.customer import Customer
from patron_profile.domain.import_jobs import ImportCounts, ImportJob, ImportTakenOver
from patron_profile.domain.imports import IMPORT_FIELDS, NEW_CUSTOMER_COLUMNS, RowError
from patron_shared.db import copy_records, is_one_of, json_recordset
from patron_shared.db.metadata import base_columns
from patron_shared.events import Contract, CustomerCreated

imports = Table(
    "imports",
    metadata,
    *base_columns(),
    Column("status", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("format", String(10), nullable=False),
    Column("file_name", String(255)),
    Column("mapping", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("file_bytes", BigInteger, nullable=False),
    Column("read_bytes", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_read", Integer, nullable=False, server_default=text("0")),
    Column("created_count", Integer, nullable=False, server_default=text("0")),
    Column("updated_count", Integer, nullable=False, server_default=text("0")),
    Column("unchanged_count", Integer, nullable=False, server_default=text("0")),
    Column("error_count", Integer, nullable=False, server_default=text("0")),
    Column("preview", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("ignored_columns", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("failure", Text),
    Column("created_by", String(200)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    # Resumption (migration 0018): how the file is cut, what is committed, who runs it.
    Column("batch_size", Integer),
    Column("committed_batches", ARRAY(Integer), nullable=False, server_default=text("'{}'")),
    Column("runner", Uuid),
)

import_errors = Table(
    "import_errors",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("import_id", Uuid, ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("field", String(100), nullable=False),
    Column("message", Text, nullable=False),
    PrimaryKeyConstraint("tenant_id", "import_id", "row_number", "field"),
)

# The temporary table a batch's new customers are copied into, and what moves them on.
_NEW_CUSTOMERS = "import_new_customers"
_NEW_COLUMNS = ", ".join(NEW_CUSTOMER_COLUMNS)
_CREATE_NEW_CUSTOMERS = (
    f"CREATE TEMPORARY TABLE {_NEW_CUSTOMERS} ON COMMIT DROP AS "  # noqa: S608 (constants)
    f"SELECT {_NEW_COLUMNS} FROM customers WITH NO DATA"
)
_INSERT_NEW_CUSTOMERS = (
    f"INSERT INTO customers ({_NEW_COLUMNS}) "  # noqa: S608 (constants)
    f"SELECT {_NEW_COLUMNS} FROM {_NEW_CUSTOMERS} ORDER BY id "
    "ON CONFLICT (tenant_id, email) WHERE email IS NOT NULL AND deleted_at IS NULL "
    "DO NOTHING RETURNING id"
)

# The CustomerCreated events of the customers in the temporary table, built by PostgreSQL
# (`UnitOfWork.emit_from_query`): the fields `Customer.register` announces, in their JSON
# form (tests hold the two equal). `:created_at` is the creation time as `json_time` gives it.
_CREATED_EVENTS = text(
    "SELECT id AS subject, json_build_object("  # noqa: S608 (constants)
    "'customer_id', id, "
    "'customer', json_build_object("
    "'email', email, 'phone', phone, 'first_name', first_name, 'last_name', last_name, "
    "'full_name', NULLIF(concat_ws(' ', first_name, last_name), ''), "
    "'accepts_marketing', false, 'tags', tags, 'external_ids', '{}'::json, "
    "'source', source, 'status', status, 'date_of_birth', date_of_birth, "
    "'gender', gender, 'locale', locale, 'group_id', NULL, "
    "'created_at', CAST(:created_at AS text), 'updated_at', CAST(:created_at AS text)), "
    f"'imported', true) AS data FROM {_NEW_CUSTOMERS}"
).columns(subject=Uuid, data=Text)

# What an import writes of a customer: every stored field a row or the domain may set.
_WRITTEN = (*IMPORT_FIELDS, "updated_at")


# Writes one event of the contract per row the query selects (`UnitOfWork.emit_from_query`).
Announce = Callable[[type[Contract], TextualSelect], Awaitable[int]]


class SqlImportRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, job: ImportJob) -> None:
        await self._session.execute(
            imports.insert().values(
                id=job.id,
                tenant_id=job.tenant_id,
                created_at=job.created_at,
                **self._values(job),
                dry_run=job.dry_run,
                format=job.format,
                file_name=job.file_name,
                mapping=job.mapping,
                file_bytes=job.file_bytes,
                created_by=job.created_by,
            )
        )

    async def get(self, job_id: uuid.UUID, *, for_update: bool = False) -> ImportJob | None:
        query = select(imports).where(
            imports.c.tenant_id == self._tenant_id, imports.c.id == job_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else _job(row)

    async def save(self, job: ImportJob) -> None:
        await self._session.execute(
            update(imports)
            .where(imports.c.tenant_id == self._tenant_id, imports.c.id == job.id)
            .values(**self._values(job))
        )

    async def relax_commit_durability(self) -> None:
        """This transaction's COMMIT does not wait for its WAL to reach the disk.

        A crash may then lose the last batches committed (a fraction of a second of them),
        never corrupt anything: the job's counts are in the same transactions, so they
        lose exactly those batches too, and importing the file again (an upsert by email)
        brings them back. Each batch no longer waits for a disk flush."""
        await self._session.execute(text("SET LOCAL synchronous_commit = off"))

    async def add_progress(
        self,
        job_id: uuid.UUID,
        counts: ImportCounts,
        *,
        batch: int,
        runner: uuid.UUID,
        read_bytes: int,
        now: datetime,
    ) -> None:
        """Add a batch's counts to the job's and mark the batch (its first record) committed,
        in the batch's transaction: concurrent batches each add their own, and the job's
        counts are always those of the batches committed. Raises `ImportTakenOver` when
        another run owns the job now (the transaction must then roll back)."""
        c = imports.c
        result = await self._session.execute(
            update(imports)
            .where(c.tenant_id == self._tenant_id, c.id == job_id, c.runner == runner)
            .values(
                rows_read=c.rows_read + counts.rows,
                created_count=c.created_count + counts.created,
                updated_count=c.updated_count + counts.updated,
                unchanged_count=c.unchanged_count + counts.unchanged,
                error_count=c.error_count + counts.errors,
                read_bytes=func.greatest(c.read_bytes, read_bytes),
                committed_batches=func.array_append(c.committed_batches, batch),
                updated_at=now,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ImportTakenOver(f"import {job_id} is run by another process now")

    async def add_preview(self, job_id: uuid.UUID, entries: Sequence[dict[str, Any]]) -> None:
        """Append preview entries (any order: reading a job sorts them by row)."""
        if not entries:
            return
        c = imports.c
        await self._session.execute(
            update(imports)
            .where(c.tenant_id == self._tenant_id, c.id == job_id)
            .values(preview=c.preview.op("||")(bindparam(None, list(entries), type_=JSONB)))
        )

    async def add_errors(self, job_id: uuid.UUID, errors: Sequence[RowError]) -> None:
        if not errors:
            return
        rows = [
            {
                "tenant_id": self._tenant_id,
                "import_id": job_id,
                "row_number": e.row,
                "field": e.field[:100],
                "message": e.message,
            }
            for e in errors
        ]
        columns = ("tenant_id", "import_id", "row_number", "field", "message")
        recordset = json_recordset(import_errors, rows, columns)
        await self._session.execute(
            pg_insert(import_errors)
            .from_select(list(columns), select(*(recordset.c[name] for name in columns)))
            .on_conflict_do_nothing()
        )

    async def errors_after(
        self, job_id: uuid.UUID, after: tuple[int, str] | None, limit: int
    ) -> list[RowError]:
        e = import_errors.c
        query = select(e.row_number, e.field, e.message).where(
            e.tenant_id == self._tenant_id, e.import_id == job_id
        )
        if after is not None:
            query = query.where(tuple_(e.row_number, e.field) > tuple_(*after))
        query = query.order_by(e.row_number, e.field).limit(limit)
        rows = await self._session.execute(query)
        return [RowError(r.row_number, r.field, r.message) for r in rows]

    async def customers_by_email(self, emails: Sequence[str]) -> list[Customer]:
        """The live customers holding these emails, locked for the batch's update."""
        if not emails:
            return []
        query = (
            select(customers)
            .where(
                customers.c.tenant_id == self._tenant_id,
                is_one_of(customers.c.email, emails),
                customers.c.deleted_at.is_(None),
            )
            .with_for_update()
        )
        return [customer_from_row(row) for row in await self._session.execute(query)]

    async def customers_by_id(self, ids: Sequence[uuid.UUID]) -> list[Customer]:
        """The live customers among `ids`, in id order."""
        if not ids:
            return []
        query = (
            select(customers)
            .where(
                customers.c.tenant_id == self._tenant_id,
                is_one_of(customers.c.id, ids),
                customers.c.deleted_at.is_(None),
            )
            .order_by(customers.c.id)
        )
        return [customer_from_row(row) for row in await self._session.execute(query)]

    async def insert_customers(self, new: Sequence[Customer]) -> set[uuid.UUID]:
        """Insert `new`; the ids inserted (a customer whose email another transaction took
        since the batch looked is left out)."""
        if not new:
            return set()
        columns = ("id", "tenant_id", "created_at", *_WRITTEN)
        recordset = json_recordset(customers, [_row(c) for c in new], columns)
        statement = (
            pg_insert(customers)
            .from_select(list(columns), select(*(recordset.c[name] for name in columns)))
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "email"],
                index_where=text("email IS NOT NULL AND deleted_at IS NULL"),
            )
            .returning(customers.c.id)
        )
        return set((await self._session.scalars(statement)).all())

    async def insert_new_customers(
        self, records: Sequence[Sequence[Any]], *, created_at: str, announce: Announce
    ) -> set[uuid.UUID]:
        """Insert customers given as `NEW_CUSTOMER_COLUMNS` records and have `announce`
        (the unit of work's `emit_from_query`) write the `CustomerCreated` of each inserted
        one; the ids inserted (one whose email another transaction took since the batch
        looked is left out). `created_at`: the records' creation time as `json_time` gives
        it.

        The records go by binary COPY into a temporary table (`customers` is under
        row-level security, which refuses COPY) and from there by one INSERT ... SELECT,
        in id order: with time-ordered ids, each index ending in the id grows at its end.
        The events are built from the same table, by PostgreSQL.
        """
        if not records:
            return set()
        await self._session.execute(text(_CREATE_NEW_CUSTOMERS))
        await copy_records(self._session, _NEW_CUSTOMERS, NEW_CUSTOMER_COLUMNS, records)
        inserted = set((await self._session.scalars(text(_INSERT_NEW_CUSTOMERS))).all())
        if len(inserted) < len(records):
            # the few left out were not created: not announced either
            await self._session.execute(
                text(f"DELETE FROM {_NEW_CUSTOMERS} WHERE NOT id = ANY(:inserted)"),  # noqa: S608
                {"inserted": list(inserted)},
            )
        await announce(CustomerCreated, _CREATED_EVENTS.bindparams(created_at=created_at))
        await self._session.execute(text(f"DROP TABLE {_NEW_CUSTOMERS}"))
        return inserted

    async def update_customers(self, changed: Sequence[Customer]) -> None:
        if not changed:
            return
        columns = ("id", *_WRITTEN)
        recordset = json_recordset(customers, [_row(c) for c in changed], columns)
        await self._session.execute(
            update(customers)
            .where(
                customers.c.tenant_id == bindparam("tenant"),
                customers.c.id == recordset.c.id,
            )
            .values({name: recordset.c[name] for name in _WRITTEN}),
            {"tenant": self._tenant_id},
        )

    @staticmethod
    def _values(job: ImportJob) -> dict[str, Any]:
        counts = job.counts
        return {
            "status": job.status,
            "updated_at": job.updated_at,
            "read_bytes": job.read_bytes,
            "rows_read": counts.rows,
            "created_count": counts.created,
            "updated_count": counts.updated,
            "unchanged_count": counts.unchanged,
            "error_count": counts.errors,
            "preview": job.preview,
            "ignored_columns": job.ignored_columns,
            "failure": job.failure,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "batch_size": job.batch_size,
            "runner": job.runner,
        }


def _row(customer: Customer) -> dict[str, Any]:
    values = {name: getattr(customer, name) for name in _WRITTEN}
    return values | {
        "id": customer.id,
        "tenant_id": customer.tenant_id,
        "created_at": customer.created_at,
    }


def _job(row: Any) -> ImportJob:
    return ImportJob(
        id=row["id"],
        tenant_id=row["tenant_id"],
        format=row["format"],
        dry_run=row["dry_run"],
        mapping=dict(row["mapping"]),
        file_bytes=row["file_bytes"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        file_name=row["file_name"],
        created_by=row["created_by"],
        status=row["status"],
        read_bytes=row["read_bytes"],
        counts=ImportCounts(
            rows=row["rows_read"],
            created=row["created_count"],
            updated=row["updated_count"],
            unchanged=row["unchanged_count"],
            errors=row["error_count"],
        ),
        preview=sorted(row["preview"], key=lambda entry: entry["row"]),
        ignored_columns=list(row["ignored_columns"]),
        failure=row["failure"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        batch_size=row["batch_size"],
        committed_batches=frozenset(row["committed_batches"]),
        runner=row["runner"],
    )


class ImportUnitOfWork(ProfileUnitOfWork):
    """The profile unit of work with the import jobs' repository."""

    imports: SqlImportRepository

    def _open_repositories(self) -> None:
        super()._open_repositories()
        self.imports = SqlImportRepository(self.session, self.tenant_id)
