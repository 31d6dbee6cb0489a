"""Notes and metadata without I/O: validation rules and the use cases on fakes."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from patron_profile.domain.metadata import (
    MAX_VALUE_BYTES,
    MetadataEntry,
    clean_metadata_key,
    clean_metadata_value,
    clean_module_source,
)
from patron_profile.domain.notes import MAX_NOTE_LENGTH, NOTE_TYPES, Note, NoteType
from patron_profile.service.customers import ContactRules, create_customer, delete_customer
from patron_profile.service.metadata import delete_metadata, list_metadata, set_metadata
from patron_profile.service.notes import add_note, delete_note, list_notes
from patron_shared.errors import InvalidInput, NotFound

from .conftest import FakeUnitOfWork

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
RULES = ContactRules(phone_default_region="US")


@dataclass
class FakeNoteRepository:
    rows: dict[uuid.UUID, Note] = field(default_factory=dict)

    async def add(self, note: Note) -> None:
        self.rows[note.id] = copy.deepcopy(note)

    async def get(
        self, customer_id: uuid.UUID, note_id: uuid.UUID, *, for_update: bool = False
    ) -> Note | None:
        note = self.rows.get(note_id)
        return copy.deepcopy(note) if note and note.customer_id == customer_id else None

    async def save(self, note: Note) -> None:
        self.rows[note.id] = copy.deepcopy(note)

    async def list_page(
        self, customer_id: uuid.UUID, *, type: NoteType | None, offset: int, limit: int
    ) -> tuple[list[Note], int]:
        live = [
            n
            for n in self.rows.values()
            if n.customer_id == customer_id and not n.is_deleted and type in (None, n.type)
        ]
        live.sort(key=lambda n: (n.created_at, str(n.id)), reverse=True)
        return live[offset : offset + limit], len(live)


@dataclass
class FakeMetadataRepository:
    rows: dict[tuple[uuid.UUID, str], MetadataEntry] = field(default_factory=dict)

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, module_source: str | None = None
    ) -> list[MetadataEntry]:
        return sorted(
            (
                e
                for (owner, _), e in self.rows.items()
                if owner == customer_id and module_source in (None, e.module_source)
            ),
            key=lambda e: e.key,
        )

    async def list_page(
        self, customer_id: uuid.UUID, *, module_source: str | None, offset: int, limit: int
    ) -> tuple[list[MetadataEntry], int]:
        found = await self.list_for_customer(customer_id, module_source=module_source)
        return found[offset : offset + limit], len(found)

    async def upsert(self, entry: MetadataEntry) -> MetadataEntry:
        old = self.rows.get((entry.customer_id, entry.key))
        stored = copy.deepcopy(entry)
        if old is not None:
            stored.created_at = old.created_at
        self.rows[(entry.customer_id, entry.key)] = stored
        return copy.deepcopy(stored)

    async def delete(self, customer_id: uuid.UUID, key: str) -> bool:
        return self.rows.pop((customer_id, key), None) is not None


class NotesUnitOfWork(FakeUnitOfWork):
    repositories = ("customers", "orders", "notes", "metadata")

    def __init__(self) -> None:
        super().__init__()
        self.notes = FakeNoteRepository()
        self.metadata = FakeMetadataRepository()


@pytest.fixture
def notes_uow() -> NotesUnitOfWork:
    return NotesUnitOfWork()


async def a_customer(uow: NotesUnitOfWork) -> uuid.UUID:
    customer = await create_customer(uow, {"email": f"{uuid.uuid4().hex}@example.com"}, rules=RULES)
    return customer.id


def a_note(**overrides: Any) -> Note:
    values: dict[str, Any] = {
        "note_id": uuid.uuid4(),
        "tenant_id": "demo",
        "customer_id": uuid.uuid4(),
        "type": "support",
        "body": "Called about a late parcel.",
        "author": "agent-7",
        "now": NOW,
    }
    return Note.write(**(values | overrides))


def field_of(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    return error.value.field


# Notes: validation


@pytest.mark.parametrize("kind", NOTE_TYPES)
def test_every_note_type_is_accepted(kind: NoteType) -> None:
    assert a_note(type=kind).type == kind


@pytest.mark.parametrize("kind", ["", "General", "complaint", None, 3])
def test_an_unknown_note_type_is_invalid_input_naming_type(kind: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        a_note(type=kind)
    assert field_of(error) == "type"


@pytest.mark.parametrize(
    "body", ["", "   \n\t", "x" * (MAX_NOTE_LENGTH + 1), "nul \x00 inside", None, 42]
)
def test_a_blank_overlong_or_non_text_body_is_invalid_input_naming_body(body: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        a_note(body=body)
    assert field_of(error) == "body"


def test_a_body_keeps_its_text_without_surrounding_whitespace_up_to_the_limit() -> None:
    assert a_note(body="  line one\nline two \n").body == "line one\nline two"
    assert len(a_note(body="é" * MAX_NOTE_LENGTH).body) == MAX_NOTE_LENGTH


def test_a_new_note_records_its_author_and_time_and_is_live() -> None:
    note = a_note(author="agent-7")
    assert (note.author, note.created_at, note.is_deleted) == ("agent-7", NOW, False)


def test_deleting_a_note_records_who_and_when_and_a_second_delete_is_not_found() -> None:
    note = a_note()
    later = NOW + timedelta(hours=1)
    note.delete(by="lead-1", now=later)
    assert (note.deleted_at, note.deleted_by, note.is_deleted) == (later, "lead-1", True)
    with pytest.raises(NotFound):
        note.delete(by="lead-2", now=later)
    assert note.deleted_by == "lead-1"


# Metadata: validation


@pytest.mark.parametrize("key", ["a", "loyalty.tier", "shopify:metafield-1", "x_" + "y" * 98])
def test_keys_of_the_allowed_shape_are_kept_as_given(key: str) -> None:
    assert clean_metadata_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "Loyalty", "_leading", "has space", "a/b", "x" * 101, "tier\n", "ümlaut"]
)
def test_a_key_of_another_shape_is_invalid_input_naming_key(key: str) -> None:
    with pytest.raises(InvalidInput) as error:
        clean_metadata_key(key)
    assert field_of(error) == "key"


def test_module_sources_are_lower_cased_and_must_be_names() -> None:
    assert clean_module_source(" Loyalty ") == "loyalty"
    for bad in ("", "9lives", "store front", "x" * 51):
        with pytest.raises(InvalidInput) as error:
            clean_module_source(bad)
        assert field_of(error) == "module_source"


@pytest.mark.parametrize(
    "value", [None, True, 0, 1.5, "text", [], {}, {"nested": [1, {"deep": None}]}]
)
def test_any_json_value_is_accepted(value: Any) -> None:
    assert clean_metadata_value(value) == value


def test_a_value_is_limited_to_16_kb_serialized_compactly_in_utf8() -> None:
    overhead = len('""')
    assert clean_metadata_value("x" * (MAX_VALUE_BYTES - overhead))
    with pytest.raises(InvalidInput) as error:
        clean_metadata_value("x" * (MAX_VALUE_BYTES - overhead + 1))
    assert field_of(error) == "value"
    # Bytes, not characters: "é" takes two.
    with pytest.raises(InvalidInput):
        clean_metadata_value("é" * (MAX_VALUE_BYTES // 2))


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), {"a": object()}, {"k": "nul\x00"}, ["\x00"]]
)
def test_values_json_or_postgresql_cannot_hold_are_invalid_input_naming_value(
    value: Any,
) -> None:
    with pytest.raises(InvalidInput) as error:
        clean_metadata_value(value)
    assert field_of(error) == "value"


# Use cases


async def test_notes_are_written_by_the_given_author_and_listed_newest_first(
    notes_uow: NotesUnitOfWork,
) -> None:
    customer_id = await a_customer(notes_uow)
    first = await add_note(
        notes_uow, customer_id, type="general", body="one", author="a-1", clock=lambda: NOW
    )
    second = await add_note(
        notes_uow,
        customer_id,
        type="fraud_concern",
        body="two",
        author="a-2",
        clock=lambda: NOW + timedelta(minutes=1),
    )

    found, total = await list_notes(notes_uow, customer_id, offset=0, limit=10)
    assert ([n.id for n in found], total) == ([second.id, first.id], 2)
    assert [n.author for n in found] == ["a-2", "a-1"]
    fraud, _ = await list_notes(notes_uow, customer_id, type="fraud_concern", offset=0, limit=10)
    assert [n.id for n in fraud] == [second.id]


async def test_a_deleted_note_is_kept_but_no_longer_listed(notes_uow: NotesUnitOfWork) -> None:
    customer_id = await a_customer(notes_uow)
    note = await add_note(notes_uow, customer_id, type="support", body="b", author="a-1")

    await delete_note(notes_uow, customer_id, note.id, deleted_by="lead-1", clock=lambda: NOW)

    assert await list_notes(notes_uow, customer_id, offset=0, limit=10) == ([], 0)
    kept = notes_uow.notes.rows[note.id]
    assert (kept.deleted_by, kept.deleted_at, kept.body) == ("lead-1", NOW, "b")
    with pytest.raises(NotFound):
        await delete_note(notes_uow, customer_id, note.id, deleted_by="lead-1")


async def test_a_note_of_another_customer_is_not_found(notes_uow: NotesUnitOfWork) -> None:
    owner, other = await a_customer(notes_uow), await a_customer(notes_uow)
    note = await add_note(notes_uow, owner, type="support", body="b", author="a-1")
    with pytest.raises(NotFound):
        await delete_note(notes_uow, other, note.id, deleted_by="a-1")
    assert not notes_uow.notes.rows[note.id].is_deleted


async def test_notes_and_metadata_of_an_unknown_or_deleted_customer_are_not_found(
    notes_uow: NotesUnitOfWork,
) -> None:
    deleted = await a_customer(notes_uow)
    await delete_customer(notes_uow, deleted)
    for customer_id in (uuid.uuid4(), deleted):
        with pytest.raises(NotFound):
            await add_note(notes_uow, customer_id, type="general", body="b", author="a")
        with pytest.raises(NotFound):
            await list_notes(notes_uow, customer_id, offset=0, limit=10)
        with pytest.raises(NotFound):
            await set_metadata(
                notes_uow, customer_id, "k", value=1, module_source="admin", updated_by="a"
            )
        with pytest.raises(NotFound):
            await list_metadata(notes_uow, customer_id, offset=0, limit=10)
    assert notes_uow.notes.rows == {}
    assert notes_uow.metadata.rows == {}


async def test_setting_a_key_twice_keeps_one_entry_with_the_last_write(
    notes_uow: NotesUnitOfWork,
) -> None:
    customer_id = await a_customer(notes_uow)
    await set_metadata(
        notes_uow,
        customer_id,
        "tier",
        value="gold",
        module_source="loyalty",
        updated_by="svc-loyalty",
        clock=lambda: NOW,
    )
    later = NOW + timedelta(days=1)
    entry = await set_metadata(
        notes_uow,
        customer_id,
        "tier",
        value={"name": "platinum"},
        module_source="Admin",
        updated_by="agent-7",
        clock=lambda: later,
    )

    assert (entry.value, entry.module_source, entry.updated_by) == (
        {"name": "platinum"},
        "admin",
        "agent-7",
    )
    assert (entry.created_at, entry.updated_at) == (NOW, later)
    found, total = await list_metadata(notes_uow, customer_id, offset=0, limit=10)
    assert ([e.key for e in found], total) == (["tier"], 1)
    assert await list_metadata(
        notes_uow, customer_id, module_source="loyalty", offset=0, limit=9
    ) == (
        [],
        0,
    )


async def test_deleting_a_key_removes_it_and_an_unknown_key_is_not_found(
    notes_uow: NotesUnitOfWork,
) -> None:
    customer_id = await a_customer(notes_uow)
    await set_metadata(
        notes_uow, customer_id, "k", value=None, module_source="admin", updated_by="a"
    )
    await delete_metadata(notes_uow, customer_id, "k")
    assert notes_uow.metadata.rows == {}
    with pytest.raises(NotFound):
        await delete_metadata(notes_uow, customer_id, "k")


async def test_an_invalid_metadata_write_changes_nothing(notes_uow: NotesUnitOfWork) -> None:
    customer_id = await a_customer(notes_uow)
    with pytest.raises(InvalidInput) as error:
        await set_metadata(
            notes_uow,
            customer_id,
            "k",
            value="x" * MAX_VALUE_BYTES,
            module_source="admin",
            updated_by="a",
        )
    assert field_of(error) == "value"
    with pytest.raises(InvalidInput) as error:
        await list_metadata(notes_uow, customer_id, module_source="no spaces", offset=0, limit=1)
    assert field_of(error) == "module_source"
    assert notes_uow.metadata.rows == {}
