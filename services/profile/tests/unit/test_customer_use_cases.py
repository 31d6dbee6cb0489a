import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from patron_profile.service.customers import (
    ContactRules,
    create_customer,
    delete_customer,
    update_customer,
    view_customer,
)
from patron_profile.service.orders import record_order_event
from patron_shared.errors import Conflict, NotFound
from patron_shared.events import CustomerCreated, CustomerDeleted, OrderPlaced

from .conftest import FakeUnitOfWork

RULES = ContactRules(phone_default_region="US")


def placed(customer_id: uuid.UUID, order_id: str, total: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="USD",
        total=Decimal(total),
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
    )


async def test_creating_a_customer_normalizes_input_and_publishes_customer_created(
    uow: FakeUnitOfWork,
) -> None:
    customer = await create_customer(
        uow, {"email": "JANE@Example.com", "phone": "415 555 0132", "tags": ["VIP"]}, rules=RULES
    )

    assert customer.email == "jane@example.com"
    assert customer.phone == "+14155550132"
    assert customer.tags == ["vip"]
    assert [type(e) for e in uow.published] == [CustomerCreated]
    assert uow.customers.rows[customer.id].email == "jane@example.com"


async def test_a_second_customer_with_the_same_email_is_a_conflict(uow: FakeUnitOfWork) -> None:
    await create_customer(uow, {"email": "jane@example.com"}, rules=RULES)
    with pytest.raises(Conflict):
        await create_customer(uow, {"email": "Jane@example.com"}, rules=RULES)
    assert len(uow.published) == 1


async def test_updating_an_unknown_customer_is_not_found(uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound):
        await update_customer(uow, uuid.uuid4(), {"first_name": "X"}, rules=RULES)


async def test_a_deleted_customer_is_gone_and_announced(uow: FakeUnitOfWork) -> None:
    customer = await create_customer(uow, {"email": "jane@example.com"}, rules=RULES)
    await delete_customer(uow, customer.id)

    assert isinstance(uow.published[-1], CustomerDeleted)
    with pytest.raises(NotFound):
        await view_customer(uow, customer.id, include=set())


async def test_the_same_order_counts_once_even_under_a_new_message_id(uow: FakeUnitOfWork) -> None:
    customer = await create_customer(uow, {"email": "jane@example.com"}, rules=RULES)

    await record_order_event(uow, placed(customer.id, "A-1", "40.00"))
    await record_order_event(uow, placed(customer.id, "A-1", "40.00"))
    await record_order_event(uow, placed(customer.id, "A-2", "60.00"))

    stats = uow.customers.rows[customer.id].stats
    assert stats.total_orders == 2
    assert stats.total_spent == Decimal("100.00")
    assert stats.avg_order_value == Decimal("50.00")


async def test_orders_that_arrive_before_their_customer_are_counted_when_it_is_created(
    uow: FakeUnitOfWork,
) -> None:
    customer_id = uuid.uuid4()
    await record_order_event(uow, placed(customer_id, "EARLY-1", "25.00"))

    customer = await create_customer(
        uow, {"email": "early@example.com"}, rules=RULES, customer_id=customer_id
    )

    assert customer.stats.total_orders == 1
    assert uow.customers.rows[customer_id].stats.total_spent == Decimal("25.00")
