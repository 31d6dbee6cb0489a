"""An import whose process stopped resumes where it stopped: the batches committed are not
written again, the counts are those of one run, and a run that lost its job commits no more."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patron_profile.adapters.imports import ImportUnitOfWork, import_errors, imports
from patron_profile.adapters.tables import customers, messaging
from patron_profile.domain.import_jobs import ImportJob
from patron_profile.import_runner import (
    claim_interrupted_imports,
    resume_interrupted_imports,
    start_import_job,
    upload_path,
)
from patron_profile.service.imports import ImportOptions, create_import, run_import
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration

ROWS = 2_400
OPTIONS = ImportOptions(batch_size=40, writers=2)
LATER = timedelta(minutes=3)  # past RESUMABLE_AFTER


def write_file(path: Path) -> dict[str, int]:
    """Rows 2.. with a bad email every 50th and, every 97th, row 2's email again."""
    lines, bad, repeated = ["Email,First name"], 0, 0
    for n in range(2, ROWS + 2):
        if n % 50 == 0:
            lines.append(f"row{n}-at-example.com,Bad")
            bad += 1
        elif n % 97 == 0:
            lines.append("row2@example.com,Again")
            repeated += 1
        else:
            lines.append(f"row{n}@example.com,Name{n}")
    path.write_text("\n".join(lines) + "\n")
    return {"errors": bad + repeated, "created": ROWS - bad - repeated}


async def new_job(runtime: ServiceRuntime, tenant: str, directory: Path) -> tuple[ImportJob, Path]:
    job_id = uuid.uuid4()
    path = upload_path(directory, job_id)
    now = utcnow()
    await asyncio.to_thread(write_file, path)
    job = ImportJob(
        id=job_id,
        tenant_id=tenant,
        format="csv",
        dry_run=False,
        mapping={},
        file_bytes=(await asyncio.to_thread(path.stat)).st_size,
        created_at=now,
        updated_at=now,
    )
    await create_import(runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant), job)
    return job, path


async def job_row(runtime: ServiceRuntime, tenant: str, job_id: uuid.UUID) -> ImportJob:
    async with runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant) as uow:
        job = await uow.imports.get(job_id)
    assert job is not None
    return job


async def committed(runtime: ServiceRuntime, tenant: str, job_id: uuid.UUID) -> frozenset[int]:
    return (await job_row(runtime, tenant, job_id)).committed_batches


async def stop_after_batches(
    task: asyncio.Task[object],
    runtime: ServiceRuntime,
    tenant: str,
    job_id: uuid.UUID,
    batches: int,
) -> frozenset[int]:
    """Cancel the run (its process stops) once `batches` are committed; those committed."""
    for _ in range(2_000):
        if len(await committed(runtime, tenant, job_id)) >= batches or task.done():
            break
        await asyncio.sleep(0.005)
    assert not task.done(), "the run ended before it could be stopped: make the file longer"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return await committed(runtime, tenant, job_id)


async def what_was_written(
    runtime: ServiceRuntime, tenant: str, job_id: uuid.UUID
) -> dict[str, int]:
    outbox = messaging.outbox
    async with runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant) as uow:
        stored = await uow.session.scalar(select(func.count()).select_from(customers))
        distinct_emails = await uow.session.scalar(
            select(func.count(func.distinct(customers.c.email)))
        )
        events = await uow.session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == "CustomerCreated")
        )
        distinct_keys = await uow.session.scalar(
            select(func.count(func.distinct(outbox.c.message_key))).where(
                outbox.c.tenant_id == tenant, outbox.c.message_type == "CustomerCreated"
            )
        )
        error_rows = await uow.session.scalar(
            select(func.count())
            .select_from(import_errors)
            .where(import_errors.c.import_id == job_id)
        )
    return {
        "stored": stored or 0,
        "distinct_emails": distinct_emails or 0,
        "events": events or 0,
        "distinct_keys": distinct_keys or 0,
        "error_rows": error_rows or 0,
    }


async def test_an_interrupted_import_resumes_and_ends_as_one_run_would(
    runtime: ServiceRuntime, tenant: str, tmp_path: Path
) -> None:
    job, path = await new_job(runtime, tenant, tmp_path)
    expected = await asyncio.to_thread(write_file, tmp_path / "expected.csv")

    def new_uow() -> ImportUnitOfWork:
        return runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant)

    first = asyncio.create_task(run_import(new_uow, job.id, path, OPTIONS))
    done_before = await stop_after_batches(first, runtime, tenant, job.id, batches=5)
    interrupted = await job_row(runtime, tenant, job.id)
    assert interrupted.status == "running"
    assert 5 <= len(done_before) < ROWS // OPTIONS.batch_size
    assert path.exists(), "the file waits for the job to resume"

    # Not yet stalled long enough: nobody takes it.
    assert await resume_interrupted_imports(runtime, tmp_path, OPTIONS) == []
    (resumed,) = await resume_interrupted_imports(runtime, tmp_path, OPTIONS, now=utcnow() + LATER)
    await resumed

    ended = await job_row(runtime, tenant, job.id)
    assert ended.status == "completed", ended.failure
    assert ended.started_at == interrupted.started_at
    assert len(ended.committed_batches) == ROWS // OPTIONS.batch_size
    assert (ended.counts.rows, ended.counts.created, ended.counts.errors) == (
        ROWS,
        expected["created"],
        expected["errors"],
    )
    assert (ended.counts.updated, ended.counts.unchanged) == (0, 0)
    written = await what_was_written(runtime, tenant, job.id)
    assert written == {
        "stored": expected["created"],
        "distinct_emails": expected["created"],
        "events": expected["created"],
        "distinct_keys": expected["created"],
        "error_rows": expected["errors"],
    }
    assert [entry["row"] for entry in ended.preview] == list(range(2, 22))
    assert not path.exists(), "the file goes once the job has ended"


async def test_a_run_that_lost_its_job_commits_nothing_more(
    runtime: ServiceRuntime, tenant: str, tmp_path: Path
) -> None:
    job, path = await new_job(runtime, tenant, tmp_path)
    expected = await asyncio.to_thread(write_file, tmp_path / "expected.csv")
    slow = start_import_job(runtime, job.id, tenant, path, OPTIONS)
    for _ in range(2_000):
        if len(await committed(runtime, tenant, job.id)) >= 3:
            break
        await asyncio.sleep(0.005)
    # Another process decides the run is dead and claims the job.
    assert not slow.done(), "the run ended before it could be taken over"
    # (a minute of margin: a batch committing meanwhile stamps a later time than now)
    (claim,) = await claim_interrupted_imports(
        runtime.engine, [job.id], utcnow() + LATER + timedelta(minutes=1), LATER
    )
    taken_at = await committed(runtime, tenant, job.id)
    await slow  # it stops at its next commit, and keeps the file for the new run
    assert await committed(runtime, tenant, job.id) == taken_at
    assert (await job_row(runtime, tenant, job.id)).status == "running"
    assert path.exists()

    job_id, claimed_tenant, runner = claim
    assert (job_id, claimed_tenant) == (job.id, tenant)
    await start_import_job(runtime, job.id, tenant, path, OPTIONS, runner=runner)
    ended = await job_row(runtime, tenant, job.id)
    assert ended.status == "completed", ended.failure
    assert (ended.counts.rows, ended.counts.created, ended.counts.errors) == (
        ROWS,
        expected["created"],
        expected["errors"],
    )
    written = await what_was_written(runtime, tenant, job.id)
    assert written["stored"] == written["events"] == written["distinct_keys"] == expected["created"]
    assert not path.exists()


async def test_one_claimer_wins_and_only_jobs_stalled_and_unfinished_are_claimed(
    runtime: ServiceRuntime, tenant: str, tmp_path: Path
) -> None:
    stalled, _ = await new_job(runtime, tenant, tmp_path)
    finished, finished_path = await new_job(runtime, tenant, tmp_path)
    ended = await run_import(
        lambda: runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant),
        finished.id,
        finished_path,
        OPTIONS,
    )
    assert ended is not None
    assert ended.status == "completed"
    ids = [stalled.id, finished.id, uuid.uuid4()]
    later = utcnow() + LATER

    assert await claim_interrupted_imports(runtime.engine, ids, utcnow(), LATER) == []
    first, second = await asyncio.gather(
        claim_interrupted_imports(runtime.engine, ids, later, LATER),
        claim_interrupted_imports(runtime.engine, ids, later, LATER),
    )
    claims = first + second
    assert [(job_id, claimed_tenant) for job_id, claimed_tenant, _ in claims] == [
        (stalled.id, tenant)
    ]
    (row,) = [r for r in [await job_row(runtime, tenant, stalled.id)]]
    assert row.runner == claims[0][2]
    async with runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant) as uow:
        status = await uow.session.scalar(
            select(imports.c.status).where(imports.c.id == finished.id)
        )
    assert status == "completed"
