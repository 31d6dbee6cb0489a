"""The unit of work's bulk outbox paths (`emit_in_bulk`, `emit_from_query`), on the profile's
real database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Text, Uuid, func, select, text
from sqlalchemy.sql.selectable import TextualSelect

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.events import CONTRACTS, CustomerDeleted, Envelope, TagsChanged
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration

OUTBOX = messaging.outbox


async def written(runtime: ServiceRuntime, tenant: str) -> list[tuple[str, str, Envelope]]:
    """(message key, message type, envelope) of the tenant's outbox rows, in seq order."""
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(OUTBOX.c.message_key, OUTBOX.c.message_type, OUTBOX.c.payload)
            .where(OUTBOX.c.tenant_id == tenant)
            .order_by(OUTBOX.c.seq)
        )
        return [(key, kind, Envelope.model_validate(payload)) for key, kind, payload in rows]


def tags_changed(customer_id: uuid.UUID, tag: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "added": [tag], "removed": [], "tags": [tag]}


async def test_bulk_events_are_written_after_the_others_in_queue_order_as_valid_envelopes(
    runtime: ServiceRuntime, tenant: str
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    deleted_at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    uow = ProfileUnitOfWork(
        runtime.session_factory,
        messaging,
        tenant_id=tenant,
        source="profile",
        correlation_id="corr-1",
        causation_id="cause-1",
    )
    async with uow:
        uow.emit_in_bulk(TagsChanged, [tags_changed(first, "a"), tags_changed(second, "a")])
        uow.emit(CustomerDeleted(customer_id=second, deleted_at=deleted_at))
        uow.emit_in_bulk(
            CustomerDeleted, ({"customer_id": first, "deleted_at": deleted_at} for _ in range(1))
        )
        uow.emit_in_bulk(TagsChanged, [])
        returned = await uow.commit()

    rows = await written(runtime, tenant)
    assert [(key, kind) for key, kind, _ in rows] == [
        (str(second), "CustomerDeleted"),  # from emit(): written first, and returned
        (str(first), "TagsChanged"),
        (str(second), "TagsChanged"),
        (str(first), "CustomerDeleted"),
    ]
    assert [e.id for e in returned] == [rows[0][2].id]
    assert len({envelope.id for _, _, envelope in rows}) == 4
    for _, kind, envelope in rows:
        assert envelope.type == kind
        assert (envelope.tenant_id, envelope.source) == (tenant, "profile")
        assert (envelope.correlation_id, envelope.causation_id) == ("corr-1", "cause-1")
        assert envelope.id.version == 4
        CONTRACTS.parse_data(envelope)
    assert rows[1][2].data == TagsChanged.model_validate(tags_changed(first, "a")).model_dump(
        mode="json"
    )
    assert rows[3][2].data == {"customer_id": str(first), "deleted_at": "2026-11-25T09:30:00Z"}


async def test_bulk_events_are_discarded_with_a_rolled_back_unit_of_work(
    runtime: ServiceRuntime, tenant: str
) -> None:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        uow.emit_in_bulk(TagsChanged, [tags_changed(uuid.uuid4(), "a")])

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        uow.emit_in_bulk(TagsChanged, [tags_changed(uuid.uuid4(), "b")])
        await uow.rollback()
        await uow.commit()

    assert await written(runtime, tenant) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"customer_id": "not a uuid", "added": ["a"]},  # invalid
        {"customer_id": uuid.uuid4(), "added": "a"},  # invalid
        {"customer_id": uuid.uuid4(), "added": ["a"], "extra": 1},  # would be published as is
        {"customer_id": uuid.uuid4()},  # defaults missing from what would be published
    ],
)
async def test_bulk_events_whose_first_fields_are_not_the_contracts_are_refused(
    runtime: ServiceRuntime, tenant: str, fields: dict[str, Any]
) -> None:
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        uow.emit_in_bulk(TagsChanged, [fields, tags_changed(uuid.uuid4(), "a")])
        with pytest.raises(ValueError, match="TagsChanged"):
            await uow.commit()

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as check:
        count = await check.session.scalar(
            select(func.count()).select_from(OUTBOX).where(OUTBOX.c.tenant_id == tenant)
        )
    assert count == 0


def events_query(rows: list[tuple[uuid.UUID, dict[str, Any]]]) -> TextualSelect:
    """A query selecting `subject` and `data` (JSON) for each of `rows`."""
    values = ", ".join(f"(CAST(:s{n} AS uuid), CAST(:d{n} AS json))" for n in range(len(rows)))
    parameters: dict[str, Any] = {}
    for n, (subject, data) in enumerate(rows):
        parameters |= {f"s{n}": subject, f"d{n}": json.dumps(data)}
    sql = f"SELECT subject, data FROM (VALUES {values}) AS events(subject, data)"
    if not rows:
        sql = "SELECT CAST(NULL AS uuid) AS subject, CAST(NULL AS json) AS data WHERE false"
    return text(sql).bindparams(**parameters).columns(subject=Uuid, data=Text)


def deleted(customer_id: uuid.UUID, at: str = "2026-11-25T09:30:00Z") -> dict[str, Any]:
    return {"customer_id": str(customer_id), "deleted_at": at}


async def test_events_from_a_query_are_written_at_once_as_valid_envelopes_keyed_by_subject(
    runtime: ServiceRuntime, tenant: str
) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    uow = ProfileUnitOfWork(
        runtime.session_factory,
        messaging,
        tenant_id=tenant,
        source="profile",
        correlation_id="corr-2",
        causation_id="cause-2",
    )
    async with uow:
        uow.emit(TagsChanged.model_validate(tags_changed(ids[0], "a")))
        count = await uow.emit_from_query(
            CustomerDeleted, events_query([(i, deleted(i)) for i in ids])
        )
        assert await uow.emit_from_query(CustomerDeleted, events_query([])) == 0
        await uow.commit()

    assert count == 3
    rows = await written(runtime, tenant)
    # written at once: before what commit() writes
    assert [(key, kind) for key, kind, _ in rows] == [
        *((str(i), "CustomerDeleted") for i in ids),
        (str(ids[0]), "TagsChanged"),
    ]
    for (_, _, envelope), customer_id in zip(rows, ids, strict=False):
        assert envelope.subject == str(customer_id)
        assert (envelope.tenant_id, envelope.source) == (tenant, "profile")
        assert (envelope.correlation_id, envelope.causation_id) == ("corr-2", "cause-2")
        assert envelope.data == deleted(customer_id)
        assert isinstance(CONTRACTS.parse_data(envelope), CustomerDeleted)
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        keyed = await uow.session.execute(
            select(OUTBOX.c.message_id, OUTBOX.c.payload).where(OUTBOX.c.tenant_id == tenant)
        )
        pairs = [(str(message_id), payload["id"]) for message_id, payload in keyed]
    assert all(message_id == payload_id for message_id, payload_id in pairs)
    assert len({message_id for message_id, _ in pairs}) == 4


@pytest.mark.parametrize(
    "data",
    [
        {"customer_id": "{subject}", "deleted_at": "2026-11-25T09:30:00+00:00"},  # not as dumped
        {"customer_id": "{subject}"},  # a field missing
        {"customer_id": "{other}", "deleted_at": "2026-11-25T09:30:00Z"},  # another's subject
    ],
)
async def test_events_from_a_query_whose_first_row_is_not_the_contracts_are_refused(
    runtime: ServiceRuntime, tenant: str, data: dict[str, str]
) -> None:
    subject = uuid.uuid4()
    first = {k: v.format(subject=subject, other=uuid.uuid4()) for k, v in data.items()}
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        with pytest.raises(ValueError, match="CustomerDeleted"):
            await uow.emit_from_query(
                CustomerDeleted, events_query([(subject, first), (subject, deleted(subject))])
            )

    assert await written(runtime, tenant) == []
