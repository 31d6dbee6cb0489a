"""`/api/v1/identity/dedupe-file` and `/api/v1/identity/dedupe-runs`.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import contextlib
import email.parser
import email.policy
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from patron_identity.adapters.dedupe_runs import SqlRunLeases, interrupt_orphaned_runs
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain import file_dedupe
from patron_identity.domain.dedupe_runs import INTERRUPTED, DedupeRun, RunCursor
from patron_identity.service import dedupe_runs as run_use_cases
from patron_identity.service.file_dedupe import FileDedupeOptions, FileDedupeResult, dedupe_file
from patron_identity.settings import IdentitySettings
from patron_shared.auth import Principal, Scope
from patron_shared.errors import InvalidInput, PatronError
from patron_shared.http import (
    CSV_CONTENT_TYPE,
    CSV_TYPE,
    CursorMeta,
    CursorPage,
    ServiceRuntime,
    api_router,
    csv_text,
    prefers,
    require,
    unit_of_work,
)
from patron_shared.logging import get_logger

log = get_logger("patron.identity.dedupe")
RUNS_PER_PAGE = 20
RUNS_MAX_PER_PAGE = 100

Writer = Annotated[Principal, Depends(require(Scope.IDENTITY_WRITE))]
Reader = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_READ))
]


class UnsupportedFileType(PatronError):
    status = 415
    title = "Unsupported Media Type"
    type_slug = "unsupported-media-type"


# --------------------------------------------------------------------------- file dedupe


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise file_dedupe.FileTooLarge(f"the file is larger than {max_bytes} bytes")
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > max_bytes:
            raise file_dedupe.FileTooLarge(f"the file is larger than {max_bytes} bytes")
    return bytes(received)


def _multipart(content_type: str, body: bytes) -> tuple[bytes, dict[str, list[str]]]:
    """The `file` part and the form's other fields of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise InvalidInput("file", "not a multipart/form-data body")
    upload: bytes | None = None
    form: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if name == "file":
            upload = payload
        elif isinstance(name, str):
            form.setdefault(name, []).append(payload.decode("utf-8", "replace"))
    if upload is None:
        raise InvalidInput("file", "the form has no part named file")
    return upload, form


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", f"not UTF-8 text (byte {exc.start})") from None


def _csv_response(result: FileDedupeResult, output: str) -> Response:
    if output == "pairs":
        body = csv_text(
            [file_dedupe.PAIR_COLUMNS, *(file_dedupe.pair_csv_row(p) for p in result.pairs)]
        )
    else:
        body = csv_text(
            [file_dedupe.CLUSTER_COLUMNS, *(file_dedupe.cluster_csv_row(r) for r in result.rows)]
        )
    summary = result.summary
    headers = {
        "X-Dedupe-Records": str(summary.records),
        "X-Dedupe-Clusters": str(summary.clusters),
        "X-Dedupe-Merges": str(summary.merges),
        "X-Dedupe-Reviews": str(summary.reviews),
        "X-Dedupe-Ignored-Values": str(summary.ignored_values),
    }
    return Response(body, media_type=CSV_CONTENT_TYPE, headers=headers)


def build_dedupe_file_router(settings: IdentitySettings) -> APIRouter:
    router = api_router(prefix="/api/v1/identity", tags=["identity"])
    rules = settings.normalization_rules()

    @router.post(
        "/dedupe-file",
        summary="Cluster the people of a CSV file; nothing is stored",
        description=(
            "The file as a `text/csv` body or the `file` part of a multipart/form-data form "
            "(where `map`, `id_column` and `estimate` may also be form fields). Columns named "
            "like a field map themselves; `map=E-mail=email` renames, and several columns "
            "mapped to one field are joined (`map=street_number=address1&map=street=address1`). "
            f"Dates of birth: {file_dedupe.DATE_FORMATS}; one that is no real day is left out "
            "and counted in `summary.ignored_values`. Answers JSON, or CSV with "
            "`Accept: text/csv` (`output=pairs` for the pairs and their explanation)."
        ),
        responses={
            413: {"description": "more than IDENTITY_DEDUPE_FILE_MAX_ROWS rows or bytes"},
            415: {"description": "neither text/csv nor multipart/form-data"},
            422: {"description": "the file or mapping is invalid (field, line)"},
        },
    )
    async def dedupe_uploaded_file(
        *,
        request: Request,
        caller: Writer,
        column_map: Annotated[
            list[str] | None,
            Query(alias="map", description="column=field, repeatable", examples=["E-mail=email"]),
        ] = None,
        id_column: Annotated[str | None, Query(max_length=200)] = None,
        estimate: Annotated[bool, Query(description="fit the model to the file (EM)")] = False,
        output: Annotated[
            Literal["records", "pairs"], Query(description="CSV answers: which rows")
        ] = "records",
    ) -> Response:
        content_type = request.headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip().lower()
        body = await _body(request, settings.dedupe_file_max_bytes)
        pairs = list(column_map or [])
        if media_type == "multipart/form-data":
            body, form = _multipart(content_type, body)
            pairs += form.get("map", [])
            id_column = id_column or next(iter(form.get("id_column", [])), None)
            estimate = estimate or form.get("estimate", ["false"])[0].lower() in ("1", "true")
        elif media_type not in (CSV_TYPE, "application/csv", "text/plain"):
            raise UnsupportedFileType(
                f"send the file as {CSV_TYPE} or multipart/form-data, not {media_type or '-'}"
            )
        options = FileDedupeOptions(
            renames=file_dedupe.parse_column_map(pairs),
            id_column=id_column,
            estimate=estimate,
            max_rows=settings.dedupe_file_max_rows,
        )
        lines = io.StringIO(_text(body), newline="")
        del body
        # matching is CPU-bound: keep the event loop answering other requests
        result = await asyncio.to_thread(dedupe_file, lines, options, rules=rules)
        summary = result.summary.as_dict()
        del summary["ignored_examples"]
        log.info("file deduplicated", tenant=caller.tenant_id, **summary)
        if prefers(request, CSV_TYPE):
            return _csv_response(result, output)
        return Response(FileDedupeOut.of(result).model_dump_json(), media_type="application/json")

    return router


class FileDedupeOut(BaseModel):
    summary: dict[str, float | int | list[str]]
    records: list[dict[str, object]] = Field(description="one per row: its cluster and matches")
    pairs: list[dict[str, object]] = Field(description="merge and review pairs, explained")

    @classmethod
    def of(cls, result: FileDedupeResult) -> "FileDedupeOut":
        return cls(
            summary=result.summary.as_dict(),
            records=[file_dedupe.cluster_json(row) for row in result.rows],
            pairs=[file_dedupe.pair_json(pair) for pair in result.pairs],
        )


# --------------------------------------------------------------------------- dedupe runs


class DedupeRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    estimate_model: bool = Field(
        default=False, description="fit the tenant's match model to its customers and store it"
    )


class DedupeRunOut(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "succeeded", "failed"]
    phase: Literal["loading", "estimating", "matching", "applying"] | None
    estimate_model: bool
    requested_by: str
    customers_total: int
    customers_scanned: int
    pairs_compared: int
    merges: int
    suggestions: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, run: DedupeRun) -> "DedupeRunOut":
        return cls(
            id=run.id,
            status=run.status,
            phase=run.phase,
            estimate_model=run.estimate_model,
            requested_by=run.requested_by,
            customers_total=run.customers_total,
            customers_scanned=run.customers_scanned,
            pairs_compared=run.pairs_compared,
            merges=run.merges,
            suggestions=run.suggestions,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=run.error,
        )


def dedupe_runner(runtime: ServiceRuntime) -> run_use_cases.DedupeRunner:
    """The process's runner: runs execute on its own units of work, leased on its engine."""

    def new_unit_of_work(tenant_id: str) -> IdentityUnitOfWork:
        return runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant_id)

    return run_use_cases.DedupeRunner(new_unit_of_work, SqlRunLeases(runtime.engine))


def build_dedupe_runs_router(runner: run_use_cases.DedupeRunner) -> APIRouter:
    router = api_router(prefix="/api/v1/identity/dedupe-runs", tags=["identity"])

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Deduplicate the tenant's stored customers in the background",
        responses={409: {"description": "a run is already queued or running"}},
    )
    async def start_dedupe_run(
        caller: Writer, response: Response, body: DedupeRunIn | None = None
    ) -> DedupeRunOut:
        run = await runner.start(
            caller.tenant_id,
            estimate_model=(body or DedupeRunIn()).estimate_model,
            requested_by=caller.subject,
        )
        response.headers["Location"] = f"/api/v1/identity/dedupe-runs/{run.id}"
        return DedupeRunOut.of(run)

    @router.get("", summary="Dedupe runs, newest first")
    async def list_dedupe_runs(
        uow: Reader,
        cursor: Annotated[
            str | None, Query(max_length=500, description="`meta.next_cursor` of the last page")
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=RUNS_MAX_PER_PAGE)] = RUNS_PER_PAGE,
    ) -> CursorPage[DedupeRunOut]:
        after = RunCursor.decode(cursor) if cursor else None
        runs, next_cursor = await run_use_cases.list_runs(uow, after=after, limit=per_page)
        return CursorPage[DedupeRunOut](
            data=[DedupeRunOut.of(run) for run in runs],
            meta=CursorMeta(
                per_page=per_page, next_cursor=next_cursor.encode() if next_cursor else None
            ),
        )

    @router.get("/{run_id}", summary="A dedupe run: status and progress")
    async def get_dedupe_run(run_id: uuid.UUID, uow: Reader) -> DedupeRunOut:
        return DedupeRunOut.of(await run_use_cases.get_run(uow, run_id))

    return router


def run_dedupe_runs_with(app: FastAPI, runner: run_use_cases.DedupeRunner) -> None:
    """At start-up, fail the runs a stopped process left behind; at shutdown, interrupt the
    runs executing here (their lease goes with the process anyway)."""
    service_lifespan = app.router.lifespan_context
    runtime: ServiceRuntime = app.state.runtime

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(application):
            interrupted = await interrupt_orphaned_runs(runtime.engine, INTERRUPTED)
            if interrupted:
                log.warning("dedupe runs interrupted by a restart", runs=interrupted)
            try:
                yield
            finally:
                await runner.stop()

    app.router.lifespan_context = lifespan
