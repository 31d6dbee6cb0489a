"""The trigger rules, without I/O: which channel, which category, which events are too old,
what an order confirmation and a command may carry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_notifications.domain.contact import Contact
from patron_notifications.domain.template_defaults import builtin_template
from patron_notifications.domain.templates import render
from patron_notifications.service.triggers import (
    command_variables,
    fresh,
    order_extras,
    points_extras,
    preferred_channel,
    stricter,
    tier_extras,
)
from patron_shared.errors import InvalidInput
from patron_shared.events import (
    OrderItem,
    OrderPlaced,
    PointsAdjusted,
    SendNotification,
    TierChanged,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def contact(email: str | None, phone: str | None) -> Contact:
    return Contact(customer_id=uuid.uuid4(), source_updated_at=NOW, email=email, phone=phone)


def order(**fields: Any) -> OrderPlaced:
    values: dict[str, Any] = {
        "order_id": "1042",
        "customer_id": uuid.uuid4(),
        "currency": "EUR",
        "total": Decimal("65.00"),
        "items": [
            OrderItem(
                sku="TS-BLUE-M", name="Blue T-Shirt", quantity=2, unit_price=Decimal("25.00")
            ),
            OrderItem(name="Socks", quantity=1, unit_price=Decimal("7.50")),
        ],
        "placed_at": NOW,
    }
    return OrderPlaced(**(values | fields))


def command(**fields: Any) -> SendNotification:
    values: dict[str, Any] = {
        "customer_id": uuid.uuid4(),
        "template": "order_confirmation",
        "channel": "email",
        "category": "transactional",
    }
    return SendNotification(**(values | fields))


@pytest.mark.parametrize(
    ("email", "phone", "sms_template", "channel"),
    [
        ("ann@example.com", "+14155550123", True, "email"),
        ("ann@example.com", None, True, "email"),
        (None, "+14155550123", True, "sms"),
        (None, "+14155550123", False, "email"),
        (None, None, True, "email"),
    ],
)
def test_a_message_goes_by_sms_only_to_a_phone_only_customer_when_a_template_exists(
    email: str | None, phone: str | None, sms_template: bool, channel: str
) -> None:
    assert preferred_channel(contact(email, phone), sms_template=sms_template) == channel


def test_an_unknown_customer_gets_email_which_the_messenger_skips() -> None:
    assert preferred_channel(None, sms_template=True) == "email"


@pytest.mark.parametrize(
    ("command_category", "template_category", "expected"),
    [
        ("transactional", "transactional", "transactional"),
        ("transactional", "marketing", "marketing"),
        ("marketing", "transactional", "marketing"),
        ("marketing", "marketing", "marketing"),
    ],
)
def test_a_command_gets_the_stricter_of_its_category_and_the_templates(
    command_category: Any, template_category: Any, expected: str
) -> None:
    assert stricter(command_category, template_category) == expected


def test_an_event_older_than_the_maximum_age_is_stale_and_none_means_any_age() -> None:
    limit = timedelta(hours=72)
    assert fresh(NOW - timedelta(hours=72), NOW, limit)
    assert not fresh(NOW - timedelta(hours=72, seconds=1), NOW, limit)
    assert fresh(NOW - timedelta(days=3650), NOW, None)


def test_an_order_confirmation_carries_the_order_with_its_number_falling_back_to_the_id() -> None:
    extras = order_extras(order())

    assert extras == {
        "order": {
            "order_id": "1042",
            "order_number": "#1042",
            "total": "65.00",
            "subtotal": "57.50",  # the lines' sum: the order gave none
            "shipping_total": "",
            "currency": "EUR",
            "placed_at": "2026-12-04T12:00:00Z",
            "lines": [
                {"sku": "TS-BLUE-M", "name": "Blue T-Shirt", "quantity": 2, "unit_price": "25.00"},
                {"sku": "", "name": "Socks", "quantity": 1, "unit_price": "7.50"},
            ],
            "status": "placed",
            "carrier": "",
            "tracking_number": "",
            "tracking_url": "",
        }
    }


def test_an_order_keeps_its_own_number_subtotal_and_shipping() -> None:
    extras = order_extras(
        order(order_number="NW-1042", subtotal=Decimal("55.00"), shipping_total=Decimal("10.00"))
    )["order"]

    assert (extras["order_number"], extras["subtotal"], extras["shipping_total"]) == (
        "NW-1042",
        "55.00",
        "10.00",
    )


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_amounts_are_plain_decimal_strings_that_read_back_as_the_same_amount(
    total: Decimal,
) -> None:
    shown = order_extras(order(total=total, items=[]))["order"]["total"]

    assert "E" not in shown.upper()
    assert Decimal(shown) == total


def test_the_order_extras_render_in_the_built_in_confirmation_without_none() -> None:
    template = builtin_template("order_confirmation", "email")
    assert template is not None
    variables = {
        "customer": contact("ann@example.com", None).template_variables(),
        "shop": {"name": "Northwind", "url": "https://shop.example.com"},
        "unsubscribe_url": "https://shop.example.com/u",
        **order_extras(order()),
    }

    rendered = render(template, variables)

    assert rendered.subject == "Order #1042 confirmed"
    assert "2 x Blue T-Shirt (EUR 25.00)" in rendered.text
    assert "Total: EUR 65.00" in rendered.text
    assert "None" not in rendered.text


def test_points_and_tier_extras_are_taken_from_the_event() -> None:
    customer = uuid.uuid4()
    adjusted = PointsAdjusted(
        customer_id=customer,
        points=-200,
        balance=1050,
        reason="Returned item",
        actor="ops",
        adjusted_at=NOW,
    )
    upgraded = TierChanged(
        customer_id=customer,
        previous_tier="silver",
        tier="gold",
        tier_name="Gold",
        direction="upgrade",
        changed_at=NOW,
        benefits=["Free shipping"],
    )

    assert points_extras(adjusted) == {
        "points": {"delta": -200, "balance": 1050, "reason": "Returned item"}
    }
    assert tier_extras(upgraded) == {"tier": {"name": "Gold", "benefits": ["Free shipping"]}}


def test_a_tier_event_without_the_tiers_name_shows_its_key() -> None:
    # published before loyalty named its tiers in the event
    upgraded = TierChanged(
        customer_id=uuid.uuid4(), tier="gold", direction="upgrade", changed_at=NOW
    )

    assert tier_extras(upgraded) == {"tier": {"name": "gold", "benefits": []}}


def test_a_command_may_give_the_templates_extras() -> None:
    given_order = order_extras(order())

    assert command_variables(command(variables=given_order)) == given_order


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"order": {"nmae": "x"}}, "variables.order.nmae"),
        ({"order": {"lines": "many"}}, "variables.order.lines"),
        ({"points": {"delta": 1}}, "variables.points"),  # not an extra of this template
        ({"unsubscribe_url": "https://evil.example"}, "variables.unsubscribe_url"),
        ({"customer": {"name": "Someone Else"}}, "variables.customer"),
    ],
)
def test_a_command_with_variables_outside_the_catalogue_is_refused_naming_the_variable(
    variables: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        command_variables(command(variables=variables))

    assert refused.value.field == field
