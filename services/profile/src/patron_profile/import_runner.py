"""Import jobs beside the service: started by an upload, resumed after an interruption.

An upload's file waits in `PROFILE_IMPORT_DIR` as `<job id>.upload` until its job ends. A
job whose process stopped (a deploy, a crash) leaves its file there and its row `running`.
Every `PROFILE_IMPORT_RESUME_INTERVAL_SECONDS`, each process claims the jobs whose file it
has and that made no progress for `RESUMABLE_AFTER` (migration 0018: one claimer wins, and
the claim names the new run, so the old one, were it only slow, commits nothing more), and
resumes them where they stopped.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.domain.import_jobs import RESUMABLE_AFTER
from patron_profile.service import imports as use_cases
from patron_profile.settings import ProfileSettings
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, run_periodically
from patron_shared.logging import get_logger

log = get_logger("patron.profile.imports")
UPLOAD_SUFFIX = ".upload"
# Jobs running in this process (a reference keeps each task alive until it ends).
_RUNNING: set[asyncio.Task[Any]] = set()


def upload_path(directory: Path, job_id: uuid.UUID) -> Path:
    return directory / f"{job_id}{UPLOAD_SUFFIX}"


def import_options(settings: ProfileSettings) -> use_cases.ImportOptions:
    return use_cases.ImportOptions(
        phone_default_region=settings.phone_default_region,
        batch_size=settings.import_batch_size,
        writers=settings.import_writers,
    )


def start_import_job(
    runtime: ServiceRuntime,
    job_id: uuid.UUID,
    tenant_id: str,
    path: Path,
    options: use_cases.ImportOptions,
    *,
    runner: uuid.UUID | None = None,
) -> asyncio.Task[Any]:
    """Run the job in the background (resume it, as `runner`, after a claim). Its file is
    deleted once the job has ended; kept when the run is cancelled (the service stops) or
    another process took the job over."""

    def new_uow() -> ImportUnitOfWork:
        return runtime.unit_of_work(
            ImportUnitOfWork, tenant_id=tenant_id, correlation_id=f"import:{job_id}"
        )

    async def run() -> None:
        try:
            ended = await use_cases.run_import(new_uow, job_id, path, options, runner=runner)
        except Exception:  # the database was unreachable, say: a later claim resumes it
            log.exception("import could not run", import_id=str(job_id))
            return
        if ended is not None:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    task = asyncio.create_task(run(), name=f"import-{job_id}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task


async def claim_interrupted_imports(
    engine: AsyncEngine, job_ids: list[uuid.UUID], now: datetime, stalled: timedelta
) -> list[tuple[uuid.UUID, str, uuid.UUID]]:
    """(job, tenant, new runner) of each job among `job_ids`, of any tenant, that made no
    progress since `now - stalled` and has not ended, claimed for this process."""
    if not job_ids:
        return []
    async with engine.begin() as connection:
        rows = await connection.execute(
            text("SELECT * FROM claim_interrupted_imports(:now, :stalled, CAST(:ids AS uuid[]))"),
            {"now": now, "stalled": stalled, "ids": job_ids},
        )
        return [(row.id, row.tenant_id, row.runner) for row in rows]


def _waiting_uploads(directory: Path) -> list[uuid.UUID]:
    ids = []
    for path in directory.glob(f"*{UPLOAD_SUFFIX}"):
        try:
            ids.append(uuid.UUID(path.name.removesuffix(UPLOAD_SUFFIX)))
        except ValueError:
            continue  # not an upload of ours
    return ids


async def resume_interrupted_imports(
    runtime: ServiceRuntime,
    directory: Path,
    options: use_cases.ImportOptions,
    *,
    now: datetime | None = None,
) -> list[asyncio.Task[Any]]:
    """Claim and resume the interrupted jobs whose files are in `directory`; their tasks."""
    if not await asyncio.to_thread(directory.is_dir):
        return []
    waiting = await asyncio.to_thread(_waiting_uploads, directory)
    claimed = await claim_interrupted_imports(
        runtime.engine, waiting, now or utcnow(), RESUMABLE_AFTER
    )
    tasks = []
    for job_id, tenant_id, runner in claimed:
        log.info("import resumed", import_id=str(job_id), tenant=tenant_id)
        path = upload_path(directory, job_id)
        tasks.append(start_import_job(runtime, job_id, tenant_id, path, options, runner=runner))
    return tasks


def resume_imports_with(app: FastAPI, settings: ProfileSettings) -> None:
    """Look for interrupted jobs beside the service (unless the interval is 0)."""
    runtime: ServiceRuntime = app.state.runtime
    run_periodically(
        app,
        "import-resume",
        lambda: resume_interrupted_imports(
            runtime, settings.import_directory, import_options(settings)
        ),
        settings.import_resume_interval_seconds,
    )
