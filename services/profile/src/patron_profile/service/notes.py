"""Note use cases: one function per command, each one transaction.

Notes raise no events (the customer timeline will read them from here).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from patron_profile.domain.notes import Note, NoteType
from patron_profile.service.customers import existing_customer
from patron_profile.service.ports import NoteUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import utcnow

Clock = Callable[[], datetime]


async def list_notes(
    uow: NoteUnitOfWork,
    customer_id: uuid.UUID,
    *,
    type: NoteType | None = None,
    offset: int,
    limit: int,
) -> tuple[list[Note], int]:
    """The customer's live notes, newest first."""
    async with uow:
        await existing_customer(uow, customer_id)
        return await uow.notes.list_page(customer_id, type=type, offset=offset, limit=limit)


async def add_note(
    uow: NoteUnitOfWork,
    customer_id: uuid.UUID,
    *,
    type: Any,
    body: Any,
    author: str,
    note_id: uuid.UUID | None = None,
    clock: Clock = utcnow,
) -> Note:
    """Write a note by `author` (the caller's token subject)."""
    note = Note.write(
        note_id=note_id or uuid.uuid4(),
        tenant_id=uow.tenant_id,
        customer_id=customer_id,
        type=type,
        body=body,
        author=author,
        now=clock(),
    )
    async with uow:
        await existing_customer(uow, customer_id, writing=True)
        await uow.notes.add(note)
        await uow.commit()
    return note


async def delete_note(
    uow: NoteUnitOfWork,
    customer_id: uuid.UUID,
    note_id: uuid.UUID,
    *,
    deleted_by: str,
    clock: Clock = utcnow,
) -> Note:
    """Soft-delete a note; it stays stored with who deleted it and when."""
    async with uow:
        await existing_customer(uow, customer_id, writing=True)
        note = await uow.notes.get(customer_id, note_id, for_update=True)
        if note is None:
            raise NotFound(f"note {note_id} not found")
        note.delete(by=deleted_by, now=clock())
        await uow.notes.save(note)
        await uow.commit()
    return note
