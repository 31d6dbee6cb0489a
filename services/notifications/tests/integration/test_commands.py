"""`SendNotification` commands on a real database, through the real consumer: what they
queue, with which category and cause, and what becomes of an invalid one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_shared.events import (
    CustomerCreated,
    CustomerSnapshot,
    SendNotification,
    build_envelope,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

pytestmark = pytest.mark.integration


async def a_customer(runtime: ServiceRuntime, tenant: str, *, marketing: bool) -> uuid.UUID:
    customer_id, now = uuid.uuid4(), utcnow()
    snapshot = CustomerSnapshot(
        email=f"command-{uuid.uuid4().hex[:10]}@patron-tests.example",
        first_name="Gus",
        accepts_marketing=marketing,
        created_at=now,
        updated_at=now,
    )
    event = CustomerCreated(customer_id=customer_id, customer=snapshot)
    assert await deliver_record(runtime, build_envelope(event, tenant_id=tenant, source="tests"))
    return customer_id


async def send(runtime: ServiceRuntime, tenant: str, **fields: Any) -> tuple[str, str]:
    """Deliver a command; (what became of it, its envelope id)."""
    values: dict[str, Any] = {"channel": "email", "category": "transactional"}
    command = SendNotification(**(values | fields))
    message = build_envelope(command, tenant_id=tenant, source="orders")
    return await deliver_record(runtime, message), str(message.id)


async def rows_of(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> list[Any]:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = select(deliveries).where(
            deliveries.c.customer_id == customer_id, deliveries.c.template_key != "welcome"
        )
        return list((await uow.session.execute(query)).all())


ORDER = {
    "order_id": "9",
    "order_number": "NW-9",
    "total": "12.00",
    "currency": "EUR",
    "lines": [{"sku": "MUG", "name": "Mug", "quantity": 1, "unit_price": "12.00"}],
}


async def test_a_command_queues_its_template_with_its_variables_and_its_id_as_cause(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=False)

    outcome, command_id = await send(
        runtime,
        tenant,
        customer_id=customer_id,
        template="order_confirmation",
        variables={"order": ORDER},
    )

    assert outcome == "processed"
    [row] = await rows_of(runtime, tenant, customer_id)
    assert (row.template_key, row.category, row.status, row.cause) == (
        "order_confirmation",
        "transactional",
        "queued",
        command_id,
    )
    assert row.subject == "Order NW-9 confirmed"
    assert "1 x Mug (EUR 12.00)" in row.text_body


async def test_commands_with_the_same_idempotency_key_queue_one_message(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=False)
    key = f"order-9-confirmation-{uuid.uuid4().hex[:6]}"

    for _ in range(3):  # three commands (three ids), one key
        await send(
            runtime,
            tenant,
            customer_id=customer_id,
            template="order_confirmation",
            variables={"order": ORDER},
            idempotency_key=key,
        )

    [row] = await rows_of(runtime, tenant, customer_id)
    assert row.cause == key


async def test_a_tenant_that_switched_commands_off_gets_nothing_from_them_until_back_on(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=False)

    async def switch(on: bool | None) -> None:
        answer = await client.patch(
            "/api/v1/notifications/settings",
            json={"triggers": {"send_notification": on}},
            headers=admin,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["triggers"]["send_notification"] is (on is not False)

    async def confirm(order_number: str) -> str:
        outcome, _ = await send(
            runtime,
            tenant,
            customer_id=customer_id,
            template="order_confirmation",
            variables={"order": ORDER | {"order_number": order_number}},
        )
        return outcome

    await switch(False)
    assert await confirm("NW-OFF") == "processed"  # taken, and dropped
    assert await rows_of(runtime, tenant, customer_id) == []

    await switch(None)  # back on the default: on
    assert await confirm("NW-ON") == "processed"
    [row] = await rows_of(runtime, tenant, customer_id)
    assert (row.status, row.subject) == ("queued", "Order NW-ON confirmed")


async def test_a_marketing_template_asked_for_as_transactional_stays_marketing(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=False)

    await send(
        runtime, tenant, customer_id=customer_id, template="win_back", category="transactional"
    )

    [row] = await rows_of(runtime, tenant, customer_id)
    assert (row.category, row.status, row.skipped_reason) == (
        "marketing",
        "skipped",
        "no_marketing_consent",
    )


async def test_a_command_with_bad_variables_is_recorded_as_failed_naming_the_variable(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=True)
    bad = {"order": {**ORDER, "nmae": "typo"}}

    first, _ = await send(
        runtime, tenant, customer_id=customer_id, template="order_confirmation", variables=bad
    )
    again, _ = await send(
        runtime,
        tenant,
        customer_id=customer_id,
        template="order_confirmation",
        variables={"unsubscribe_url": "https://elsewhere.example/u"},
        idempotency_key="k-1",
    )

    assert (first, again) == ("processed", "processed")  # the consumer goes on
    rows = sorted(await rows_of(runtime, tenant, customer_id), key=lambda r: r.created_at)
    assert [(r.status, r.recipient, r.text_body) for r in rows] == [("failed", "", "")] * 2
    assert rows[0].last_error == (
        "invalid command: variables.order.nmae: not in the variable catalogue"
    )
    assert rows[1].last_error == (
        "invalid command: variables.unsubscribe_url: set by the service, not by the command"
    )


async def test_a_command_for_a_template_nobody_has_is_skipped_as_no_template(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=True)

    await send(
        runtime, tenant, customer_id=customer_id, template="spring_sale", category="marketing"
    )

    [row] = await rows_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason) == ("skipped", "no_template")


async def test_a_command_whose_template_is_not_a_key_goes_to_the_dead_letter_topic(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(runtime, tenant, marketing=True)

    outcome, _ = await send(runtime, tenant, customer_id=customer_id, template="Not A Key!")

    assert outcome == "dead_lettered"
    assert await rows_of(runtime, tenant, customer_id) == []
