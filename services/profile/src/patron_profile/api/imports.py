"""`/api/v1/imports`: upload a customer file, follow its job, download its error report.

The file is the request body itself, with its Content-Type (`text/csv`, `application/json`,
`application/x-ndjson` or the XLSX type); options are query parameters. It is streamed to
disk, never held in memory, and read there by a job running beside the service.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from patron_profile.adapters.import_files import format_of
from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.domain.import_jobs import ImportJob
from patron_profile.domain.imports import IMPORT_FIELDS, parse_mapping
from patron_profile.import_runner import import_options, start_import_job, upload_path
from patron_profile.service import imports as use_cases
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Principal, Scope, mask_email, mask_name, mask_phone
from patron_shared.errors import InvalidInput, PatronError
from patron_shared.events import utcnow
from patron_shared.http import (
    CSV_CONTENT_TYPE,
    CSV_TYPE,
    api_router,
    attachment,
    csv_line,
    csv_text,
    prefers,
    unit_of_work,
)

Writer = Annotated[ImportUnitOfWork, Depends(unit_of_work(ImportUnitOfWork, Scope.CUSTOMERS_WRITE))]
Reader = Annotated[ImportUnitOfWork, Depends(unit_of_work(ImportUnitOfWork, Scope.CUSTOMERS_READ))]
_MASKS = {"email": mask_email, "phone": mask_phone, "first_name": mask_name, "last_name": mask_name}
_PII_ONLY = ("notes", "date_of_birth")


class PayloadTooLarge(PatronError):
    status = 413
    title = "Content Too Large"
    type_slug = "content-too-large"


class ImportCountsOut(BaseModel):
    rows: int = Field(description="data rows read so far")
    created: int = Field(description="customers created (dry run: that would be)")
    updated: int = Field(description="customers updated (dry run: that would be)")
    unchanged: int = Field(description="existing customers the file changes nothing on")
    errors: int = Field(description="rows left out; see `/errors`")


class ImportOut(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "completed", "failed"]
    dry_run: bool
    format: str
    file_name: str | None
    file_bytes: int
    progress: float = Field(description="0 to 1: the share of the file read")
    counts: ImportCountsOut
    mapping: dict[str, str | None] = Field(description="the mapping the caller gave")
    ignored_columns: list[str] = Field(description="columns that fed no field")
    preview: list[dict[str, Any]] = Field(
        description="the first rows and what the import does (dry run: would do) with each"
    )
    failure: str | None
    errors_url: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJob, viewer: Principal) -> Self:
        c = job.counts
        return cls(
            id=job.id,
            status=job.status,
            dry_run=job.dry_run,
            format=job.format,
            file_name=job.file_name,
            file_bytes=job.file_bytes,
            progress=round(job.progress, 4),
            counts=ImportCountsOut(
                rows=c.rows,
                created=c.created,
                updated=c.updated,
                unchanged=c.unchanged,
                errors=c.errors,
            ),
            mapping=job.mapping,
            ignored_columns=job.ignored_columns,
            preview=[_masked(item, viewer) for item in job.preview],
            failure=job.failure,
            errors_url=f"/api/v1/imports/{job.id}/errors",
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


def build_imports_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/imports", tags=["imports"])
    options = import_options(settings)
    directory = settings.import_directory

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Import customers from a CSV, JSON, NDJSON or XLSX file (the request body)",
        description=(
            "Send the file as the body with its Content-Type: `text/csv` (header row first, "
            "`,` or `;`), `application/json` (an array of objects), `application/x-ndjson` "
            "(one object per line) or "
            "`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` (first "
            "sheet, header row first). Columns map to fields by name (see "
            "`/api/v1/imports/template.csv`) unless `mapping` says otherwise. Customers are "
            "matched by email: existing ones get the file's non-empty values (tags are "
            "added), new ones are created. A row with any problem is left out and listed "
            "in the error report; the other rows are imported. Answers 202 with the job; "
            "follow it at its Location."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {
                        "schema": {"type": "string"},
                        "example": "email,first_name,last_name,tags\n"
                        "jane@example.com,Jane,Doe,vip;newsletter\n",
                    },
                    "application/json": {
                        "schema": {"type": "array", "items": {"type": "object"}},
                        "example": [
                            {"email": "jane@example.com", "first_name": "Jane", "tags": ["vip"]}
                        ],
                    },
                    "application/x-ndjson": {
                        "schema": {"type": "string"},
                        "example": '{"email": "jane@example.com", "first_name": "Jane"}\n',
                    },
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        },
    )
    async def start_import(
        *,
        request: Request,
        response: Response,
        uow: Writer,
        dry_run: Annotated[
            bool, Query(description="validate and preview only: no customer is written")
        ] = False,
        mapping: Annotated[
            str | None,
            Query(
                max_length=10_000,
                description="JSON object: file column -> field, or null to ignore the column; "
                'e.g. `{"Courriel": "email", "Internal": null}`',
            ),
        ] = None,
        file_name: Annotated[str | None, Query(max_length=255)] = None,
    ) -> ImportOut:
        file_format = format_of(request.headers.get("content-type"))
        columns = parse_mapping(_mapping_object(mapping))
        job_id = uuid.uuid4()
        path = await _store(request, directory, job_id, settings.import_max_bytes)
        now = utcnow()
        job = ImportJob(
            id=job_id,
            tenant_id=uow.tenant_id,
            format=file_format,
            dry_run=dry_run,
            mapping=columns,
            file_bytes=path.stat().st_size,
            created_at=now,
            updated_at=now,
            file_name=file_name,
            created_by=uow.caller.subject,
        )
        try:
            await use_cases.create_import(uow, job)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        start_import_job(request.app.state.runtime, job.id, job.tenant_id, path, options)
        response.headers["Location"] = f"/api/v1/imports/{job_id}"
        return ImportOut.of(job, uow.caller)

    @router.get(
        "/template.csv",
        summary="The CSV template: a header row of every importable field and one example",
        response_class=Response,
        responses={200: {"content": {CSV_TYPE: {}}}},
    )
    async def template(uow: Writer) -> Response:
        example = {
            "email": "jane.doe@example.com",
            "phone": "+14155550123",
            "first_name": "Jane",
            "last_name": "Doe",
            "tags": "vip;newsletter",
            "notes": "",
            "source": "import",
            "locale": "en-US",
            "gender": "female",
            "date_of_birth": "1990-04-01",
            "status": "active",
        }
        body = csv_text([list(IMPORT_FIELDS), [example[name] for name in IMPORT_FIELDS]])
        return Response(
            body, media_type=CSV_CONTENT_TYPE, headers=attachment("customers-template.csv")
        )

    @router.get("/{import_id}", summary="An import job: status, progress, counts, preview")
    async def get_import(import_id: uuid.UUID, uow: Reader) -> ImportOut:
        job = await use_cases.import_status(uow, import_id)
        return ImportOut.of(job, uow.caller)

    @router.get(
        "/{import_id}/errors",
        summary="An import's error report: one line per row and field, in row order",
        response_class=StreamingResponse,
        responses={200: {"content": {CSV_TYPE: {}, "application/json": {}}}},
    )
    async def import_errors(
        import_id: uuid.UUID,
        request: Request,
        uow: Reader,
        format: Annotated[
            Literal["csv", "json"] | None,
            Query(description="csv or json; by default as the Accept header prefers (JSON)"),
        ] = None,
    ) -> StreamingResponse:
        await use_cases.import_status(uow, import_id)  # 404 before the stream starts
        as_csv = format == "csv" or (format is None and prefers(request, CSV_TYPE))
        if as_csv:
            return StreamingResponse(
                _errors_csv(uow, import_id),
                media_type=CSV_CONTENT_TYPE,
                headers=attachment(f"import-{import_id}-errors.csv"),
            )
        return StreamingResponse(
            _errors_json(uow, import_id),
            media_type="application/json",
            headers=attachment(f"import-{import_id}-errors.json"),
        )

    return router


def _mapping_object(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidInput("mapping", f"not JSON: {error.msg}", location="query") from None
    if not isinstance(value, dict):
        raise InvalidInput("mapping", "a JSON object: column -> field", location="query")
    return value


async def _store(request: Request, directory: Path, job_id: uuid.UUID, limit: int) -> Path:
    """The body written to `directory`, chunk by chunk."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    path = upload_path(directory, job_id)
    size = 0
    try:
        with path.open("wb") as file:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is larger than {limit} bytes")
                file.write(chunk)
        if size == 0:
            raise InvalidInput("body", "the file is empty", location="body")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _errors_csv(uow: ImportUnitOfWork, import_id: uuid.UUID) -> Any:
    yield csv_line(["row", "field", "message"])
    async for page in use_cases.error_pages(uow, import_id):
        yield "".join(csv_line([e.row, e.field, e.message]) for e in page)


async def _errors_json(uow: ImportUnitOfWork, import_id: uuid.UUID) -> Any:
    yield "["
    first = True
    async for page in use_cases.error_pages(uow, import_id):
        for e in page:
            item = json.dumps({"row": e.row, "field": e.field, "message": e.message})
            yield item if first else "," + item
            first = False
    yield "]"


def _masked(item: dict[str, Any], viewer: Principal) -> dict[str, Any]:
    if viewer.can_read_pii or "fields" not in item:
        return item
    fields = {
        name: _MASKS[name](value) if name in _MASKS else value
        for name, value in item["fields"].items()
        if name not in _PII_ONLY
    }
    return item | {"fields": fields}
