"""Customer import use cases: start a job, run it, read its state and errors.

The job reads its stored file one record at a time and validates each (`domain.imports`),
reporting duplicates within the file, in batches of `batch_size` records. Each batch is
one transaction, written by one of `writers` concurrent writers while the next batches are
read: the customers with the batch's emails locked and updated through the aggregate (its
rules, its `CustomerUpdated` events), the new ones created set-based with their
`CustomerCreated` events through the outbox, the error rows, and the job's counts added in
the same statement. A failure leaves the batches already committed imported and the job
`failed`, saying why. A dry run does all of it but write customers (and so announces
nothing).

A job whose process stopped resumes in a process that has its file
(`patron_profile.import_runner`): each batch's commit records it and checks that the run
still owns the job, so the resumed run skips what was committed, and a run that lost the
job (it only seemed dead) commits nothing more.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from patron_profile.adapters.import_files import FileFormatError
from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.domain.customer import Customer
from patron_profile.domain.import_jobs import (
    PREVIEW_ROWS,
    ImportCounts,
    ImportJob,
    ImportTakenOver,
)
from patron_profile.domain.imports import (
    ImportRow,
    RowError,
    changes_for,
    new_customer_record,
)
from patron_profile.service.groups import sync_customer_group
from patron_profile.service.import_reading import (
    BatchReader,
    FileToRead,
    ValidatedBatch,
    read_in_thread,
)
from patron_shared.errors import NotFound
from patron_shared.events import json_time, utcnow
from patron_shared.ids import time_ordered_uuids
from patron_shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger("patron.profile.imports")
IMPORT_SOURCE = "import"


@dataclass(frozen=True)
class ImportOptions:
    phone_default_region: str = "US"
    batch_size: int = 5_000
    writers: int = 3  # batches written at once, each in its own transaction


async def create_import(uow: ImportUnitOfWork, job: ImportJob) -> ImportJob:
    async with uow:
        await uow.imports.add(job)
        await uow.commit()
    return job


async def import_status(
    uow: ImportUnitOfWork, job_id: uuid.UUID, *, clock: Clock = utcnow
) -> ImportJob:
    async with uow:
        job = await uow.imports.get(job_id)
    if job is None:
        raise NotFound(f"no import {job_id}")
    return job.as_of(clock())


async def error_pages(
    uow: ImportUnitOfWork, job_id: uuid.UUID, *, page_size: int = 5_000
) -> AsyncIterator[list[RowError]]:
    """The job's error rows in row order, a page per transaction (an async iterator)."""
    after: tuple[int, str] | None = None
    while True:
        async with uow:
            page = await uow.imports.errors_after(job_id, after, page_size)
        if not page:
            return
        yield page
        if len(page) < page_size:
            return
        after = (page[-1].row, page[-1].field)


async def run_import(
    new_uow: Callable[[], ImportUnitOfWork],
    job_id: uuid.UUID,
    path: Path,
    options: ImportOptions,
    *,
    runner: uuid.UUID | None = None,
    clock: Clock = utcnow,
) -> ImportJob | None:
    """Run the job to its end; the job as it ended (completed or failed), or None when
    another process took it over meanwhile (it seemed dead) and runs it now.

    `runner`: the run a claim of an interrupted job handed over (`claim_interrupted_imports`);
    the job then resumes, skipping the batches committed before. Without one, the job starts.
    """
    async with new_uow() as uow:
        job = await uow.imports.get(job_id, for_update=True)
        if job is None:
            raise NotFound(f"no import {job_id}")
        if runner is not None and job.runner != runner:
            return None  # claimed again by another process since
        runner = runner or uuid.uuid4()
        job.start(clock(), runner=runner, batch_size=options.batch_size)
        await uow.imports.save(job)
        await uow.commit()
    assert job.batch_size is not None
    batches = BatchReader(
        FileToRead(
            path=path,
            format=job.format,
            mapping=dict(job.mapping),
            phone_default_region=options.phone_default_region,
            batch_size=job.batch_size,
        )
    )
    read = read_in_thread(batches)
    failure: str | None = None
    unexpected: str | None = None
    taken_over = False
    try:
        await _import_batches(new_uow, job, options, read, clock)
    except* ImportTakenOver:
        taken_over = True
    except* FileFormatError as errors:
        failure = str(errors.exceptions[0])
    except* Exception as errors:  # the job says it failed; the log says why in full
        log.exception("import failed", import_id=str(job_id))
        unexpected = type(errors.exceptions[0]).__name__
    finally:
        await read.aclose()
    if taken_over:
        log.info("import taken over by another process", import_id=str(job_id))
        return None
    async with new_uow() as uow:
        # the counts as the batches committed them
        ended = await uow.imports.get(job_id, for_update=True)
        assert ended is not None
        if ended.runner != runner:
            return None
        if unexpected is not None:
            failure = f"the import stopped after {ended.counts.rows} rows: {unexpected}"
        ended.ignored_columns = batches.ignored_columns
        ended.finish(clock(), failure=failure)
        await uow.imports.save(ended)
        await uow.commit()
    log.info("import finished", import_id=str(job_id), status=ended.status, rows=ended.counts.rows)
    return ended


async def _import_batches(
    new_uow: Callable[[], ImportUnitOfWork],
    job: ImportJob,
    options: ImportOptions,
    batches: AsyncIterator[ValidatedBatch],
    clock: Clock,
) -> None:
    """Take the batches as they are read while `writers` tasks write the ones read before
    (PostgreSQL works on them meanwhile); the first failure stops all of them. The batches
    an earlier run committed are read (the duplicates within the file need them) but not
    written again."""
    writers = max(options.writers, 1)
    queue: asyncio.Queue[ValidatedBatch | None] = asyncio.Queue(maxsize=writers)

    async def read() -> None:
        async for batch in batches:
            if batch.first_record not in job.committed_batches:
                await queue.put(batch)
        for _ in range(writers):
            await queue.put(None)

    async def write() -> None:
        while (batch := await queue.get()) is not None:
            await _write_batch(new_uow(), job, batch, clock)

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(read())
        for _ in range(writers):
            tasks.create_task(write())


async def _write_batch(
    uow: ImportUnitOfWork, job: ImportJob, batch: ValidatedBatch, clock: Clock
) -> None:
    rows, errors = batch.rows, list(batch.errors)
    counts = ImportCounts(rows=batch.record_count)
    async with uow:
        await uow.imports.relax_commit_durability()
        now = clock()
        if job.dry_run:
            existing = await _by_email(uow, rows)
            created = [row for row in rows if row.email not in existing]
            matched = [row for row in rows if row.email in existing]
        else:
            # Insert first, set-based: the rows whose email a customer holds are left out
            # by the unique index, and only those are read (and locked) to be updated.
            created, matched = await _create(uow, rows, now=now)
            existing = await _by_email(uow, matched)
        updated: list[tuple[ImportRow, Customer]] = []
        for row in matched:
            customer = existing.get(row.email)
            if customer is None:  # its holder changed its email or was deleted meanwhile
                errors.append(RowError(row.row, "email", "changed during the import: send again"))
            elif customer.update(changes_for(customer, row.fields), now=now):
                updated.append((row, customer))
            else:
                counts.unchanged += 1
        if not job.dry_run:
            await uow.imports.update_customers([c for _, c in updated])
            # Their events (CustomerUpdated, TagsChanged) leave with the commit.
            for _, customer in updated:
                uow.customers.seen[customer.id] = customer
        counts.created, counts.updated = len(created), len(updated)
        counts.errors = len({e.row for e in errors})
        await uow.imports.add_errors(job.id, errors)
        if batch.first_record < PREVIEW_ROWS:
            preview = _preview(batch, created=created, updated=updated, errors=errors)
            await uow.imports.add_preview(job.id, preview)
        assert job.runner is not None
        await uow.imports.add_progress(
            job.id,
            counts,
            batch=batch.first_record,
            runner=job.runner,
            read_bytes=batch.read_bytes,
            now=now,
        )
        await uow.commit()


async def _by_email(uow: ImportUnitOfWork, rows: list[ImportRow]) -> dict[str, Customer]:
    """The live customers holding the rows' emails, locked, by email."""
    found = await uow.imports.customers_by_email([row.email for row in rows])
    return {customer.email: customer for customer in found if customer.email}


async def _create(
    uow: ImportUnitOfWork, rows: list[ImportRow], *, now: datetime
) -> tuple[list[ImportRow], list[ImportRow]]:
    """Create a customer per row whose email no live customer holds; the rows created and
    the others."""
    if not rows:
        return [], []
    if await uow.groups.auto_groups(lock=True):
        # Rule-based groups place each new customer as the API's create does.
        return await _create_one_by_one(uow, rows, now=now)
    ids = time_ordered_uuids(len(rows))
    # Their CustomerCreated events are built by PostgreSQL from the rows it stores.
    inserted = await uow.imports.insert_new_customers(
        [
            new_customer_record(customer_id, uow.tenant_id, row, now=now, source=IMPORT_SOURCE)
            for customer_id, row in zip(ids, rows, strict=True)
        ],
        created_at=json_time(now),
        announce=uow.emit_from_query,
    )
    created = [(customer_id, row) for customer_id, row in zip(ids, rows, strict=True)]
    return (
        [row for customer_id, row in created if customer_id in inserted],
        [row for customer_id, row in created if customer_id not in inserted],
    )


async def _create_one_by_one(
    uow: ImportUnitOfWork, rows: list[ImportRow], *, now: datetime
) -> tuple[list[ImportRow], list[ImportRow]]:
    customers = [
        Customer.register(
            customer_id=uuid.uuid4(),
            tenant_id=uow.tenant_id,
            now=now,
            imported=True,
            **({"source": IMPORT_SOURCE} | row.fields),
        )
        for row in rows
    ]
    inserted = await uow.imports.insert_customers(customers)
    for customer in customers:
        if customer.id in inserted:
            await sync_customer_group(uow, customer, {}, now=now, created=True)
            # its CustomerCreated leaves with the commit
            uow.customers.seen[customer.id] = customer
    pairs = list(zip(rows, customers, strict=True))
    return (
        [row for row, customer in pairs if customer.id in inserted],
        [row for row, customer in pairs if customer.id not in inserted],
    )


def _preview(
    batch: ValidatedBatch,
    *,
    created: list[ImportRow],
    updated: list[tuple[ImportRow, Customer]],
    errors: list[RowError],
) -> list[dict[str, Any]]:
    """The batch's records among the file's first `PREVIEW_ROWS`, with what the import does
    (would do) with each."""
    valid = {row.row: row for row in batch.rows}
    actions = {row.row: "create" for row in created} | {row.row: "update" for row, _ in updated}
    problems: dict[int, list[dict[str, str]]] = {}
    for error in errors:
        problems.setdefault(error.row, []).append({"field": error.field, "message": error.message})
    preview: list[dict[str, Any]] = []
    for number, _ in batch.preview_records:
        if number in problems:
            preview.append({"row": number, "action": "error", "errors": problems[number]})
        elif number in valid:
            action = actions.get(number, "unchanged")
            preview.append({"row": number, "action": action, "fields": _json(valid[number].fields)})
    return preview


def _json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}
