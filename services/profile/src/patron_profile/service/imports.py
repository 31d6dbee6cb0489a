"""Customer import use cases: start a job, run it batch by batch, read its state and errors.

The job reads its stored file one record at a time; every `batch_size` records are one
transaction: the rows validated (`domain.imports`), duplicates within the file reported,
the customers with those emails locked, then new customers registered and existing ones
updated through the aggregate (its rules, its `CustomerCreated`/`CustomerUpdated` events
through the outbox), written set-based, with the batch's error rows and the job's counts.
A failure after some batches leaves those batches imported and the job `failed`, saying why.
A dry run does all of it but write customers (and so announces nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from patron_profile.adapters.import_files import ROW_ERROR, FileFormatError, RecordReader
from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.domain.customer import Customer
from patron_profile.domain.import_jobs import PREVIEW_ROWS, ImportCounts, ImportJob
from patron_profile.domain.imports import (
    ColumnMapping,
    DuplicateFinder,
    ImportRow,
    RowError,
    changes_for,
    validate_row,
)
from patron_profile.service.groups import sync_customer_group
from patron_shared.errors import NotFound
from patron_shared.events import utcnow
from patron_shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger("patron.profile.imports")
IMPORT_SOURCE = "import"


@dataclass(frozen=True)
class ImportOptions:
    phone_default_region: str = "US"
    batch_size: int = 2_000


async def create_import(uow: ImportUnitOfWork, job: ImportJob) -> ImportJob:
    async with uow:
        await uow.imports.add(job)
        await uow.commit()
    return job


async def import_status(uow: ImportUnitOfWork, job_id: uuid.UUID) -> ImportJob:
    async with uow:
        job = await uow.imports.get(job_id)
    if job is None:
        raise NotFound(f"no import {job_id}")
    return job


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
    clock: Clock = utcnow,
) -> ImportJob:
    """Run the job to its end; the job as it ended (completed or failed)."""
    async with new_uow() as uow:
        job = await uow.imports.get(job_id, for_update=True)
        if job is None:
            raise NotFound(f"no import {job_id}")
        job.start(clock())
        await uow.imports.save(job)
        await uow.commit()
    mapping = ColumnMapping(explicit=dict(job.mapping))
    reader = RecordReader(path, job.format)
    run = _Run(job, mapping, DuplicateFinder(), reader, options, clock)
    failure: str | None = None
    try:
        batch: list[tuple[int, dict[str, Any]]] = []
        for record in reader:
            batch.append(record)
            if len(batch) >= options.batch_size:
                await _run_batch(new_uow(), run, batch)
                batch = []
        await _run_batch(new_uow(), run, batch)
    except FileFormatError as error:
        failure = str(error)
    except Exception as error:  # the job says it failed; the log says why in full
        log.exception("import failed", import_id=str(job_id))
        failure = f"the import stopped after {job.counts.rows} rows: {type(error).__name__}"
    finally:
        reader.close()
    async with new_uow() as uow:
        job.ignored_columns = list(dict.fromkeys(mapping.ignored))
        job.finish(clock(), failure=failure)
        await uow.imports.save(job)
        await uow.commit()
    log.info("import finished", import_id=str(job_id), status=job.status, rows=job.counts.rows)
    return job


@dataclass(frozen=True)
class _Run:
    """What every batch of one job shares."""

    job: ImportJob
    mapping: ColumnMapping
    duplicates: DuplicateFinder
    reader: RecordReader
    options: ImportOptions
    clock: Clock


async def _run_batch(
    uow: ImportUnitOfWork, run: _Run, records: list[tuple[int, dict[str, Any]]]
) -> None:
    job, mapping, duplicates, options = run.job, run.mapping, run.duplicates, run.options
    counts = ImportCounts(rows=len(records))
    errors: list[RowError] = []
    rows: list[ImportRow] = []
    for number, record in records:
        if ROW_ERROR in record:
            errors.append(RowError(number, "row", str(record[ROW_ERROR])))
            continue
        outcome = validate_row(
            number, mapping.apply(record), phone_default_region=options.phone_default_region
        )
        if isinstance(outcome, list):
            errors.extend(outcome)
            continue
        first = duplicates.first_row_of(outcome)
        if first is not None:
            errors.append(RowError(number, "email", f"duplicate: row {first} has this email"))
            continue
        rows.append(outcome)
    async with uow:
        now = run.clock()
        existing = {
            c.email: c for c in await uow.imports.customers_by_email([r.email for r in rows])
        }
        created: list[tuple[ImportRow, Customer]] = []
        updated: list[tuple[ImportRow, Customer]] = []
        for row in rows:
            customer = existing.get(row.email)
            if customer is None:
                fields = {"source": IMPORT_SOURCE} | row.fields
                new = Customer.register(
                    customer_id=uuid.uuid4(), tenant_id=uow.tenant_id, now=now, **fields
                )
                created.append((row, new))
            elif customer.update(changes_for(customer, row.fields), now=now):
                updated.append((row, customer))
            else:
                counts.unchanged += 1
        if not job.dry_run:
            created, lost = await _write(uow, created, updated, now=now)
            errors.extend(
                RowError(r.row, "email", "another customer took this email during the import")
                for r in lost
            )
        counts.created, counts.updated = len(created), len(updated)
        if len(job.preview) < PREVIEW_ROWS:
            _preview(job, records, rows=rows, created=created, updated=updated, errors=errors)
        counts.errors = len({e.row for e in errors})
        await uow.imports.add_errors(job.id, errors)
        job.counts.add(counts)
        job.read_bytes = run.reader.position()
        job.updated_at = now
        await uow.imports.save(job)
        await uow.commit()


async def _write(
    uow: ImportUnitOfWork,
    created: list[tuple[ImportRow, Customer]],
    updated: list[tuple[ImportRow, Customer]],
    *,
    now: datetime,
) -> tuple[list[tuple[ImportRow, Customer]], list[ImportRow]]:
    """Store the batch's customers; those created and the rows whose email was taken."""
    inserted = await uow.imports.insert_customers([c for _, c in created])
    lost = [row for row, c in created if c.id not in inserted]
    created = [(row, c) for row, c in created if c.id in inserted]
    await uow.imports.update_customers([c for _, c in updated])
    # Rule-based customer groups place new customers as the API's create does.
    if created and await uow.groups.auto_groups(lock=True):
        for _, customer in created:
            await sync_customer_group(uow, customer, {}, now=now, created=True)
    # Their events (CustomerCreated, CustomerUpdated, TagsChanged) leave with the commit.
    for _, customer in (*created, *updated):
        uow.customers.seen[customer.id] = customer
    return created, lost


def _preview(
    job: ImportJob,
    records: list[tuple[int, dict[str, Any]]],
    *,
    rows: list[ImportRow],
    created: list[tuple[ImportRow, Customer]],
    updated: list[tuple[ImportRow, Customer]],
    errors: list[RowError],
) -> None:
    """The first records of the file and what the import does (would do) with each."""
    valid = {row.row: row for row in rows}
    actions = {row.row: "create" for row, _ in created} | {row.row: "update" for row, _ in updated}
    problems: dict[int, list[dict[str, str]]] = {}
    for error in errors:
        problems.setdefault(error.row, []).append({"field": error.field, "message": error.message})
    for number, _ in records[: PREVIEW_ROWS - len(job.preview)]:
        if number in problems:
            job.preview.append({"row": number, "action": "error", "errors": problems[number]})
        elif number in valid:
            action = actions.get(number, "unchanged")
            job.preview.append(
                {"row": number, "action": action, "fields": _json(valid[number].fields)}
            )


def _json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}
