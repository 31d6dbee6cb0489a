"""The birthday job on a real database: today's birthdays (in the tenant's time zone) get
one message a year however often the job runs, 29 February included."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.repository import notifications_tenants
from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.contact import Contact
from patron_notifications.service.birthdays import BirthdayRun, send_birthday_messages
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 1, 1, tzinfo=UTC)


async def contacts_born(
    runtime: ServiceRuntime, tenant: str, *births: date | None, **fields: Any
) -> list[uuid.UUID]:
    ids = sorted(uuid.uuid4() for _ in births)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        for customer_id, born in zip(ids, births, strict=True):
            contact = Contact(
                customer_id=customer_id,
                source_updated_at=JOINED,
                email=f"bday-{uuid.uuid4().hex[:10]}@patron-tests.example",
                first_name="Flo",
                date_of_birth=born,
                accepts_marketing=True,
                **fields,
            )
            await uow.contacts.save(contact)
        await uow.commit()
    return ids


async def run(
    runtime: ServiceRuntime, service_app: Any, tenant: str, now: datetime, page: int = 2
) -> BirthdayRun:
    return await send_birthday_messages(
        lambda: runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant),
        service_app.state.messenger,
        now,
        tenant=tenant,
        page=page,
    )


async def birthday_rows(runtime: ServiceRuntime, tenant: str) -> dict[uuid.UUID, Any]:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = select(deliveries).where(deliveries.c.template_key == "birthday")
        rows = (await uow.session.execute(query)).all()
    return {row.customer_id: row for row in rows}


async def test_todays_birthdays_get_one_message_however_often_the_job_runs(
    runtime: ServiceRuntime, service_app: Any, tenant: str
) -> None:
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    today = await contacts_born(
        runtime, tenant, date(1990, 12, 4), date(1985, 12, 4), date(2001, 12, 4)
    )
    not_today = await contacts_born(
        runtime, tenant, date(1990, 12, 3), date(1990, 12, 5), date(1990, 11, 4), None
    )

    first = await run(runtime, service_app, tenant, now)  # pages of 2: three customers
    second = await run(runtime, service_app, tenant, now.replace(hour=15))

    assert (first.customers, first.queued) == (3, 3)
    assert (second.customers, second.queued) == (3, 0)
    rows = await birthday_rows(runtime, tenant)
    assert set(rows) == set(today)
    assert not set(rows) & set(not_today)
    row = rows[today[0]]
    assert (row.status, row.category, row.channel, row.cause) == (
        "queued",
        "marketing",
        "email",
        "birthday:2026",
    )
    assert row.subject == "Happy birthday, Flo!"
    assert "List-Unsubscribe" in row.headers


async def test_a_deleted_or_merged_customer_gets_no_birthday_message(
    runtime: ServiceRuntime, service_app: Any, tenant: str
) -> None:
    born = date(1990, 12, 4)
    [survivor] = await contacts_born(runtime, tenant, born)
    await contacts_born(runtime, tenant, born, deleted_at=JOINED)
    [merged] = await contacts_born(runtime, tenant, born)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            update(contacts).where(contacts.c.customer_id == merged).values(merged_into=survivor)
        )
        await uow.commit()

    done = await run(runtime, service_app, tenant, datetime(2026, 12, 4, 9, 0, tzinfo=UTC))

    assert done.customers == 1
    assert set(await birthday_rows(runtime, tenant)) == {survivor}


async def test_the_29th_of_february_is_celebrated_on_the_28th_in_a_common_year(
    runtime: ServiceRuntime, service_app: Any, tenant: str
) -> None:
    [leapling] = await contacts_born(runtime, tenant, date(2004, 2, 29))
    [on_28th] = await contacts_born(runtime, tenant, date(1999, 2, 28))

    common = await run(runtime, service_app, tenant, datetime(2027, 2, 28, 12, 0, tzinfo=UTC))
    leap_28th = await run(runtime, service_app, tenant, datetime(2028, 2, 28, 12, 0, tzinfo=UTC))
    leap_29th = await run(runtime, service_app, tenant, datetime(2028, 2, 29, 12, 0, tzinfo=UTC))

    assert (common.queued, leap_28th.queued, leap_29th.queued) == (2, 1, 1)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = select(deliveries.c.customer_id, deliveries.c.cause).where(
            deliveries.c.template_key == "birthday"
        )
        sent = sorted(
            (row.cause, row.customer_id == leapling) for row in await uow.session.execute(query)
        )
    assert sent == [
        ("birthday:2027", False),
        ("birthday:2027", True),
        ("birthday:2028", False),
        ("birthday:2028", True),
    ]
    assert on_28th != leapling


async def test_today_is_the_tenants_today_in_its_default_time_zone(
    runtime: ServiceRuntime,
    service_app: Any,
    tenant: str,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    # 12:00 UTC on 4 December is 01:00 on 5 December in Auckland
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    [fifth] = await contacts_born(runtime, tenant, date(1990, 12, 5))
    await contacts_born(runtime, tenant, date(1990, 12, 4))
    response = await client.patch(
        "/api/v1/notifications/settings",
        json={"default_time_zone": "Pacific/Auckland"},
        headers=admin,
    )
    assert response.status_code == 200, response.text

    done = await run(runtime, service_app, tenant, now)

    assert done.day == date(2026, 12, 5)
    assert set(await birthday_rows(runtime, tenant)) == {fifth}


async def test_a_tenant_that_switched_birthdays_off_gets_none(
    runtime: ServiceRuntime,
    service_app: Any,
    tenant: str,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    await contacts_born(runtime, tenant, date(1990, 12, 4))
    response = await client.patch(
        "/api/v1/notifications/settings", json={"triggers": {"birthday": False}}, headers=admin
    )
    assert response.status_code == 200, response.text

    done = await run(runtime, service_app, tenant, datetime(2026, 12, 4, 9, 0, tzinfo=UTC))

    assert done == BirthdayRun(tenant, None)
    assert await birthday_rows(runtime, tenant) == {}


async def test_the_job_finds_every_tenant_with_contacts_across_row_level_security(
    runtime: ServiceRuntime, tenant: str
) -> None:
    await contacts_born(runtime, tenant, None)

    assert tenant in await notifications_tenants(runtime.engine)
