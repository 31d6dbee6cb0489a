"""`/api/v1/customers/{id}/consents`: translate HTTP to the consent use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, IPvAnyAddress
from pydantic.config import JsonDict

from patron_profile.api.dependencies import Author, Reader, Writer
from patron_profile.domain.consent import (
    CLOCK_SKEW,
    Consent,
    ConsentDecision,
    ConsentEntry,
    ConsentPurpose,
    channel_of,
)
from patron_profile.service import consents as use_cases
from patron_profile.service.consents import ConsentRequest
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Principal
from patron_shared.events.customer import ConsentChannel
from patron_shared.http import (
    Page,
    PageParams,
    api_router,
    page_params,
)

_REQUEST_EXAMPLE: JsonDict = {
    "purpose": "email_marketing",
    "granted": True,
    "source": "checkout",
    "occurred_at": "2026-11-20T10:14:58Z",
    "ip_address": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
}
_CONSENT_EXAMPLE: JsonDict = {
    "purpose": "email_marketing",
    "channel": "email",
    "granted": True,
    "occurred_at": "2026-11-20T10:14:58Z",
    "source": "checkout",
    "entry_id": "1b6f0f3e-8d4c-4f6a-9a55-3f0f1c2d4e5f",
    "recorded_by": "admin@example.com",
    "updated_at": "2026-11-20T10:15:00Z",
}


class ConsentCreate(BaseModel):
    """One opt-in (`granted: true`) or opt-out, as it happened."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_REQUEST_EXAMPLE]})

    purpose: ConsentPurpose
    granted: bool
    source: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{0,49}$",
        description="where the choice was made: checkout, admin, import, ...",
        examples=["checkout"],
    )
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description=f"when the customer chose; defaults to now, must not be in the future "
        f"(up to {int(CLOCK_SKEW.total_seconds())} s of clock skew allowed)",
    )
    ip_address: IPvAnyAddress | None = Field(default=None, description="the customer's address")
    user_agent: str | None = Field(default=None, max_length=512)


class ConsentOut(BaseModel):
    """The current state of one purpose: the latest choice recorded for it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CONSENT_EXAMPLE]})

    purpose: str
    channel: ConsentChannel | None = Field(description="null for purposes without a channel")
    granted: bool
    occurred_at: datetime
    source: str
    entry_id: uuid.UUID
    recorded_by: str | None
    updated_at: datetime

    @classmethod
    def of(cls, consent: Consent) -> "ConsentOut":
        return cls(
            purpose=consent.purpose,
            channel=consent.channel,
            granted=consent.granted,
            occurred_at=consent.occurred_at,
            source=consent.source,
            entry_id=consent.entry_id,
            recorded_by=consent.recorded_by,
            updated_at=consent.recorded_at,
        )


class ConsentEntryOut(BaseModel):
    """One recorded choice; `ip_address` and `user_agent` need `customers:pii`."""

    id: uuid.UUID
    customer_id: uuid.UUID
    purpose: str
    channel: ConsentChannel | None
    granted: bool
    occurred_at: datetime
    recorded_at: datetime
    source: str
    recorded_by: str | None
    ip_address: str | None
    user_agent: str | None

    @classmethod
    def of(cls, entry: ConsentEntry, viewer: Principal) -> "ConsentEntryOut":
        pii = viewer.can_read_pii
        return cls(
            id=entry.id,
            customer_id=entry.customer_id,
            purpose=entry.purpose,
            channel=channel_of(entry.purpose),
            granted=entry.granted,
            occurred_at=entry.occurred_at,
            recorded_at=entry.recorded_at,
            source=entry.source,
            recorded_by=entry.recorded_by,
            ip_address=entry.ip_address if pii else None,
            user_agent=entry.user_agent if pii else None,
        )


class ConsentList(BaseModel):
    customer_id: uuid.UUID
    accepts_marketing: bool = Field(description="the current email_marketing grant")
    data: list[ConsentOut]


class ConsentRecorded(BaseModel):
    entry: ConsentEntryOut
    consent: ConsentOut = Field(description="the purpose's current state after the entry")
    changed: bool = Field(description="the grant flipped (and ConsentChanged went out)")

    @classmethod
    def of(cls, decision: ConsentDecision, viewer: Principal) -> "ConsentRecorded":
        return cls(
            entry=ConsentEntryOut.of(decision.entry, viewer),
            consent=ConsentOut.of(decision.current),
            changed=decision.changed,
        )


def build_consents_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers/{customer_id}/consents", tags=["consents"])
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)

    @router.get(
        "",
        summary="A customer's current consents, one per purpose recorded",
        description="A purpose with no entry is not granted. The full history: `/history`.",
    )
    async def list_consents(customer_id: uuid.UUID, uow: Reader) -> ConsentList:
        customer, found = await use_cases.list_consents(uow, customer_id)
        return ConsentList(
            customer_id=customer.id,
            accepts_marketing=customer.accepts_marketing,
            data=[ConsentOut.of(c) for c in found],
        )

    @router.get(
        "/history",
        summary="Every consent entry of a customer, newest first",
        description="Ordered by `occurred_at`; a purpose's first entry is its current state.",
    )
    async def consent_history(
        customer_id: uuid.UUID,
        uow: Reader,
        page: Annotated[PageParams, Depends(paging)],
        purpose: Annotated[ConsentPurpose | None, Query()] = None,
    ) -> Page[ConsentEntryOut]:
        found, total = await use_cases.consent_history(
            uow, customer_id, purpose=purpose, offset=page.offset, limit=page.per_page
        )
        return Page[ConsentEntryOut].build(
            [ConsentEntryOut.of(e, uow.caller) for e in found], page, total
        )

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Record an opt-in or opt-out",
        description=(
            "Always appended to the history. It becomes the current state unless an entry "
            "that happened later is already recorded (out-of-order imports). "
            "`email_marketing` sets the customer's `accepts_marketing`."
        ),
    )
    async def record_consent(
        customer_id: uuid.UUID, body: ConsentCreate, uow: Writer, author: Author
    ) -> ConsentRecorded:
        request = ConsentRequest(
            purpose=body.purpose,
            granted=body.granted,
            source=body.source,
            occurred_at=body.occurred_at,
            ip_address=str(body.ip_address) if body.ip_address is not None else None,
            user_agent=body.user_agent,
        )
        decision = await use_cases.record_consent(
            uow, customer_id, request, recorded_by=author.subject
        )
        return ConsentRecorded.of(decision, author)

    return router
