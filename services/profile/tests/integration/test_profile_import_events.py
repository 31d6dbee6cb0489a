"""An import's `CustomerCreated` events, built by PostgreSQL from the rows it stores, are the
events `Customer.register` announces for the same customers (hypothesis, real database)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.adapters.tables import messaging
from patron_profile.domain.contact import clean_name
from patron_profile.domain.customer import Customer
from patron_profile.domain.imports import ImportRow, new_customer_record
from patron_shared.events import CustomerCreated, json_time, utcnow
from patron_shared.http import ServiceRuntime
from patron_shared.testing import HeldLoop

pytestmark = pytest.mark.integration

OUTBOX = messaging.outbox

# Names as an import stores them (cleaned), in any script, with quotes and backslashes.
_names = (
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
    .map(clean_name)
    .filter(bool)
)
_rows = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "phone": st.sampled_from(["+14155550123", "+442079460958"]),
            "first_name": _names,
            "last_name": _names,
            "tags": st.lists(st.sampled_from(['a"b', "c\\d", "vip", "été"]), unique=True),
            "source": st.sampled_from(["shopify", "crm"]),
            "status": st.sampled_from(["active", "disabled"]),
            "date_of_birth": st.dates(),
            "gender": st.sampled_from(["female", "other"]),
            "locale": st.sampled_from(["en", "fr-CA"]),
        },
    ),
    min_size=1,
    max_size=4,
)


async def created_events(
    runtime: ServiceRuntime, tenant: str, rows: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(what PostgreSQL announced, what the aggregate announces) for each row imported."""
    now = utcnow()
    customers = [
        (uuid.uuid4(), ImportRow(n + 2, {"email": f"{uuid.uuid4().hex}@example.com"} | fields))
        for n, fields in enumerate(rows)
    ]
    async with runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant) as uow:
        inserted = await uow.imports.insert_new_customers(
            [new_customer_record(i, tenant, row, now=now, source="import") for i, row in customers],
            created_at=json_time(now),
            announce=uow.emit_from_query,
        )
        await uow.commit()
    assert inserted == {customer_id for customer_id, _ in customers}
    async with runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant) as uow:
        payloads = {
            key: payload
            for key, payload in await uow.session.execute(
                select(OUTBOX.c.message_key, OUTBOX.c.payload).where(
                    OUTBOX.c.message_type == "CustomerCreated",
                    OUTBOX.c.message_key.in_([str(i) for i, _ in customers]),
                )
            )
        }
    pairs = []
    for customer_id, row in customers:
        registered = Customer.register(
            customer_id=customer_id,
            tenant_id=tenant,
            now=now,
            imported=True,
            **({"source": "import"} | row.fields),
        )
        (event,) = registered.events
        assert isinstance(event, CustomerCreated)
        payload = payloads[str(customer_id)]
        assert payload["subject"] == str(customer_id)
        pairs.append((payload["data"], event.model_dump(mode="json")))
    return pairs


async def test_imported_customers_are_announced_as_the_aggregate_announces_them(
    runtime: ServiceRuntime, tenant: str
) -> None:
    loop = asyncio.get_running_loop()

    def check() -> None:
        with HeldLoop(loop) as held:

            @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
            @given(rows=_rows)
            def announced_as_registered(rows: list[dict[str, Any]]) -> None:
                for announced, registered in held.run(created_events(runtime, tenant, rows)):
                    assert announced == registered

            announced_as_registered()

    await asyncio.to_thread(check)
