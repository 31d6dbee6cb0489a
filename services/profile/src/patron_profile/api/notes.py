"""`/api/v1/customers/{id}/notes`: translate HTTP to the note use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from patron_profile.api.dependencies import Author, Reader, Writer
from patron_profile.domain.notes import MAX_NOTE_LENGTH, NOTE_TYPES, Note, NoteType
from patron_profile.service import notes as use_cases
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Principal
from patron_shared.http import (
    Page,
    PageParams,
    api_router,
    page_params,
)

_EXAMPLE: JsonDict = {"type": "support", "body": "Called about a late delivery; refund promised."}


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    type: NoteType = Field(description=f"one of {', '.join(NOTE_TYPES)}")
    body: str = Field(
        min_length=1,
        max_length=MAX_NOTE_LENGTH,
        description="the note's text; surrounding whitespace is dropped",
    )


class NoteOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE
                | {
                    "id": "0b6f3c1e-9f61-4c1a-8a51-3f4f0d6f6a10",
                    "customer_id": "7d9f2c4a-1e2b-4f5c-9a8d-6b7c8d9e0f1a",
                    "author": "agent-42",
                    "created_at": "2026-11-25T10:15:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    customer_id: uuid.UUID
    type: NoteType
    body: str | None = Field(description="null for callers without the `customers:pii` scope")
    author: str = Field(description="the subject of the token that wrote the note")
    created_at: datetime

    @classmethod
    def of(cls, note: Note, viewer: Principal) -> "NoteOut":
        """The note as `viewer` may see it: notes may hold personal details, so the body is
        withheld (null) without `customers:pii`; type, author and time stay visible."""
        return cls(
            id=note.id,
            customer_id=note.customer_id,
            type=note.type,
            body=note.body if viewer.can_read_pii else None,
            author=note.author,
            created_at=note.created_at,
        )


def build_notes_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers/{customer_id}/notes", tags=["notes"])
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)

    @router.get(
        "",
        summary="List a customer's notes, newest first",
        description=(
            "Deleted notes are not listed. Callers without the `customers:pii` scope see "
            "each note's type, author and time, with `body` null."
        ),
    )
    async def list_notes(
        customer_id: uuid.UUID,
        uow: Reader,
        page: Annotated[PageParams, Depends(paging)],
        type: Annotated[NoteType | None, Query(description="only notes of this type")] = None,
    ) -> Page[NoteOut]:
        found, total = await use_cases.list_notes(
            uow, customer_id, type=type, offset=page.offset, limit=page.per_page
        )
        return Page[NoteOut].build([NoteOut.of(n, uow.caller) for n in found], page, total)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Add a note",
        description="The author is the subject of the caller's token; the time is now (UTC).",
    )
    async def add_note(
        customer_id: uuid.UUID, body: NoteCreate, uow: Writer, author: Author, response: Response
    ) -> NoteOut:
        note = await use_cases.add_note(
            uow, customer_id, type=body.type, body=body.body, author=author.subject
        )
        response.headers["Location"] = f"/api/v1/customers/{customer_id}/notes/{note.id}"
        return NoteOut.of(note, author)

    @router.delete(
        "/{note_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete a note",
        description=(
            "The note stops being listed; it is kept with who deleted it and when. "
            "Deleting it again is a 404."
        ),
    )
    async def delete_note(
        customer_id: uuid.UUID, note_id: uuid.UUID, uow: Writer, author: Author
    ) -> Response:
        await use_cases.delete_note(uow, customer_id, note_id, deleted_by=author.subject)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
