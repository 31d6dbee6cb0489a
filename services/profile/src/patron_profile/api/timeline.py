"""`/api/v1/customers/{id}/timeline` and `/api/v1/customers/{id}/audit`, and the dependency
that writes the audit log of personal data read.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.timeline import (
    AuditAction,
    AuditRecord,
    TimelineEntry,
    TimelineKind,
)
from patron_profile.service import timeline as use_cases
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Scope
from patron_shared.events import utcnow
from patron_shared.http import (
    CursorMeta,
    CursorPage,
    api_router,
    decode_moment_cursor,
    encode_moment_cursor,
    unit_of_work,
)

TimelineReader = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.CUSTOMERS_READ))
]
AuditReader = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.AUDIT_READ))
]


def audited_reader(scope: str) -> Callable[[Request], AsyncIterator[ProfileUnitOfWork]]:
    """Dependency: a unit of work for a caller holding `scope` (as `unit_of_work`) that, when
    the caller holds `customers:pii` and the endpoint succeeds, records a `read_pii` entry in
    the audit log of every customer it read (the one in its path, and those its customer
    reads returned: a list or search page), in a transaction of its own, before the
    response leaves."""
    open_uow = unit_of_work(ProfileUnitOfWork, scope)

    async def dependency(request: Request) -> AsyncIterator[ProfileUnitOfWork]:
        uow = await open_uow(request)
        yield uow
        if not uow.caller.can_read_pii:
            return
        read = dict.fromkeys(uow.customers_read)
        raw_id = request.path_params.get("customer_id")
        try:
            if raw_id is not None:
                read[uuid.UUID(str(raw_id))] = None
        except ValueError:
            pass
        if not read:
            return
        runtime = request.app.state.runtime
        recorder: ProfileUnitOfWork = runtime.unit_of_work(
            ProfileUnitOfWork, tenant_id=uow.tenant_id, correlation_id=uow.correlation_id
        )
        async with recorder:
            now = utcnow()
            await recorder.audit.add_many(
                [
                    AuditRecord(
                        customer_id=customer_id,
                        actor=uow.caller.subject,
                        action="read_pii",
                        request_id=uow.correlation_id,
                        at=now,
                    )
                    for customer_id in read
                ]
            )
            await recorder.commit()

    return dependency


class TimelineEntryOut(BaseModel):
    id: uuid.UUID = Field(description="the id of the event (or note) the entry records")
    customer_id: uuid.UUID = Field(
        description="whose entry it is: the customer asked for, or one merged into it"
    )
    kind: TimelineKind
    occurred_at: datetime
    summary: dict[str, Any] = Field(description="what happened, without personal data")

    @classmethod
    def of(cls, entry: TimelineEntry) -> "TimelineEntryOut":
        return cls(
            id=entry.entry_id,
            customer_id=entry.customer_id,
            kind=entry.kind,
            occurred_at=entry.occurred_at,
            summary=entry.summary,
        )


class AuditEntryOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    actor: str = Field(description="the subject of the caller's token")
    action: AuditAction
    fields: list[str] = Field(description="names of the fields changed (never their values)")
    request_id: str | None
    at: datetime

    @classmethod
    def of(cls, record: AuditRecord) -> "AuditEntryOut":
        return cls(
            id=record.id,
            customer_id=record.customer_id,
            actor=record.actor,
            action=record.action,
            fields=list(record.fields),
            request_id=record.request_id,
            at=record.at,
        )


def _next_cursor(found: Sequence[Any], limit: int, at: str, key: str) -> str | None:
    if len(found) <= limit:
        return None
    last = found[limit - 1]
    return encode_moment_cursor(getattr(last, at), getattr(last, key))


def build_timeline_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers/{customer_id}", tags=["timeline"])
    cursor_query = Query(max_length=500, description="`meta.next_cursor` of the last page")
    per_page_query = Query(
        ge=1,
        le=settings.customers_max_per_page,
        description=f"items per page (max {settings.customers_max_per_page})",
    )

    @router.get(
        "/timeline",
        summary="A customer's timeline, newest first",
        description=(
            "Orders, notes, consent changes, merges and unmerges, messages sent, points and "
            "tier changes, store credit: newest first, keyset-paginated (pass "
            "`meta.next_cursor` back as `cursor`). After a merge, the entries of the merged "
            "customer are listed with the survivor's; a merged customer answers 404 naming "
            "its survivor. Summaries carry no personal data."
        ),
    )
    async def timeline(
        customer_id: uuid.UUID,
        uow: TimelineReader,
        kind: Annotated[
            list[TimelineKind] | None, Query(description="only entries of these kinds")
        ] = None,
        cursor: Annotated[str | None, cursor_query] = None,
        per_page: Annotated[int, per_page_query] = settings.customers_per_page,
    ) -> CursorPage[TimelineEntryOut]:
        found = await use_cases.timeline_page(
            uow,
            customer_id,
            kinds=kind,
            after=decode_moment_cursor(cursor),
            limit=per_page + 1,
        )
        return CursorPage[TimelineEntryOut](
            data=[TimelineEntryOut.of(entry) for entry in found[:per_page]],
            meta=CursorMeta(
                per_page=per_page,
                next_cursor=_next_cursor(found, per_page, "occurred_at", "entry_id"),
            ),
        )

    @router.get(
        "/audit",
        summary="Who read a customer's personal data and who changed what, newest first",
        description=(
            "Needs the `audit:read` scope. Each entry names the actor (token subject), the "
            "action, the names of the fields changed (never their values) and the request "
            "id. Keyset-paginated: pass `meta.next_cursor` back as `cursor`."
        ),
    )
    async def audit(
        customer_id: uuid.UUID,
        uow: AuditReader,
        cursor: Annotated[str | None, cursor_query] = None,
        per_page: Annotated[int, per_page_query] = settings.customers_per_page,
    ) -> CursorPage[AuditEntryOut]:
        found = await use_cases.audit_page(
            uow, customer_id, after=decode_moment_cursor(cursor), limit=per_page + 1
        )
        return CursorPage[AuditEntryOut](
            data=[AuditEntryOut.of(record) for record in found[:per_page]],
            meta=CursorMeta(
                per_page=per_page, next_cursor=_next_cursor(found, per_page, "at", "id")
            ),
        )

    return router
