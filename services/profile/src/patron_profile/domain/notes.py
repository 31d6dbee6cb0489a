"""Notes on a customer: typed free text written by a member of staff or a service.

A note's author is whoever the caller's token names (its subject), never a value from the
request body. Deleting a note keeps its row: `deleted_at` and `deleted_by` say when and by
whom, so a note that mattered once can still be explained; deleted notes are never listed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from patron_shared.errors import InvalidInput, NotFound

NoteType = Literal["general", "support", "account_alert", "payment_issue", "fraud_concern"]
NOTE_TYPES: tuple[NoteType, ...] = get_args(NoteType)
MAX_NOTE_LENGTH = 10_000


def note_type(value: Any, *, field: str = "type", location: str = "body") -> NoteType:
    for kind in NOTE_TYPES:
        if value == kind:
            return kind
    raise InvalidInput(field, f"must be one of {', '.join(NOTE_TYPES)}", location=location)


def clean_note_body(value: Any) -> str:
    """The note's text without surrounding whitespace: 1 to 10,000 characters."""
    if not isinstance(value, str):
        raise InvalidInput("body", "must be a string")
    text = value.strip()
    if not text:
        raise InvalidInput("body", "must not be blank")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput("body", f"must be at most {MAX_NOTE_LENGTH} characters")
    if "\x00" in text:
        raise InvalidInput("body", "must not contain the NUL character")
    return text


def _author(value: str, *, field: str) -> str:
    author = value.strip()
    if not author:
        # The token's subject; a token without one never gets this far.
        raise ValueError(f"{field} must name someone")
    return author


@dataclass
class Note:
    id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    type: NoteType
    body: str
    author: str
    created_at: datetime
    deleted_at: datetime | None = None
    deleted_by: str | None = None

    @classmethod
    def write(
        cls,
        *,
        note_id: uuid.UUID,
        tenant_id: str,
        customer_id: uuid.UUID,
        type: Any,
        body: Any,
        author: str,
        now: datetime,
    ) -> Note:
        """A new note, validated: `type` one of `NOTE_TYPES`, `body` 1..10,000 characters."""
        return cls(
            id=note_id,
            tenant_id=tenant_id,
            customer_id=customer_id,
            type=note_type(type),
            body=clean_note_body(body),
            author=_author(author, field="author"),
            created_at=now,
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def delete(self, *, by: str, now: datetime) -> None:
        """Soft delete; a note already deleted is as unknown as one never written."""
        if self.is_deleted:
            raise NotFound(f"note {self.id} not found")
        self.deleted_at = now
        self.deleted_by = _author(by, field="deleted_by")
