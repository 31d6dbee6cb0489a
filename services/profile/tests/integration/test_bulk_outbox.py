"""The unit of work's bulk outbox path (`emit_in_bulk`), on the profile's real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

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
