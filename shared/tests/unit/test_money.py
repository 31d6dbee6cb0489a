"""Money travels as exact decimal strings; currencies as upper-case ISO 4217 codes."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from patron_shared.events import CreditIssued, OrderPlaced, PointsAdjusted, round_money

MAX_DIGITS = 20
MAX_PLACES = 4
MAX_WHOLE_DIGITS = MAX_DIGITS - MAX_PLACES  # pydantic reserves the places in max_digits

# Every amount the contract allows: up to 4 places after the point and up to 16 before it,
# so at most 20 digits in all. Built from integer units so no float is ever involved.
allowed_amounts = st.integers(min_value=0, max_value=MAX_PLACES).flatmap(
    lambda places: st.integers(min_value=0, max_value=10 ** (MAX_WHOLE_DIGITS + places) - 1).map(
        lambda units: Decimal(units).scaleb(-places)
    )
)


def _order(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "order_id": "1234",
        "customer_id": str(uuid.uuid4()),
        "currency": "USD",
        "total": "125.00",
        "placed_at": "2026-11-20T10:14:58Z",
    }
    return fields | overrides


@given(allowed_amounts)
def test_any_allowed_amount_round_trips_exactly_as_a_json_string(amount: Decimal) -> None:
    order = OrderPlaced.model_validate(_order(total=amount))

    text = order.model_dump_json()
    assert f'"total":"{amount:f}"' in text
    parsed = OrderPlaced.model_validate_json(text)
    assert parsed.total == amount
    assert parsed.total.as_tuple() == amount.as_tuple()


@given(allowed_amounts)
def test_the_published_money_pattern_accepts_every_serialised_amount(amount: Decimal) -> None:
    pattern = OrderPlaced.model_json_schema(mode="serialization")["properties"]["total"]["pattern"]

    assert re.search(pattern, f"{amount:f}")


@pytest.mark.parametrize("total", [125.0, 0.1])
def test_a_float_amount_is_rejected_from_python_and_from_json(total: float) -> None:
    with pytest.raises(ValidationError, match="not a float"):
        OrderPlaced.model_validate(_order(total=total))
    with pytest.raises(ValidationError, match="not a float"):
        OrderPlaced.model_validate_json(
            OrderPlaced.model_validate(_order())
            .model_dump_json()
            .replace('"total":"125.00"', f'"total":{total}')
        )


@pytest.mark.parametrize("total", ["-0.01", "-125"])
def test_a_negative_order_total_is_rejected(total: str) -> None:
    with pytest.raises(ValidationError, match="total"):
        OrderPlaced.model_validate(_order(total=total))


def test_an_amount_with_more_than_four_decimal_places_is_rejected() -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        OrderPlaced.model_validate(_order(total="1.23456"))


def test_a_lower_case_currency_is_normalised_to_upper_case() -> None:
    assert OrderPlaced.model_validate(_order(currency="usd")).currency == "USD"


@pytest.mark.parametrize("currency", ["US", "USDX", "U5D", ""])
def test_a_currency_that_is_not_three_letters_is_rejected(currency: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        OrderPlaced.model_validate(_order(currency=currency))


def test_issued_store_credit_must_be_a_positive_amount() -> None:
    credit = {
        "customer_id": str(uuid.uuid4()),
        "credit_entry_id": str(uuid.uuid4()),
        "currency": "EUR",
        "balance": "10.00",
        "reason": "goodwill",
        "issued_at": "2026-11-20T10:14:58Z",
    }
    assert CreditIssued.model_validate(credit | {"amount": "10.00"}).amount == Decimal("10.00")
    with pytest.raises(ValidationError, match="amount"):
        CreditIssued.model_validate(credit | {"amount": "0.00"})


def test_a_points_adjustment_may_be_negative_but_never_zero() -> None:
    adjustment = {
        "customer_id": str(uuid.uuid4()),
        "balance": 10,
        "reason": "duplicate order",
        "actor": "admin@example.com",
        "adjusted_at": "2026-11-20T10:14:58Z",
    }
    assert PointsAdjusted.model_validate(adjustment | {"points": -50}).points == -50
    with pytest.raises(ValidationError, match="add or remove points"):
        PointsAdjusted.model_validate(adjustment | {"points": 0})


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("30.0000", "USD", "30.00"),
        ("1234.5000", "JPY", "1234"),
        ("1234.5000", "jpy", "1234.50"),  # codes are upper-case; unknown ones show cents
        ("0.1235", "BHD", "0.124"),
        ("2.005", None, "2.00"),  # half-even
        ("2.015", "EUR", "2.02"),
    ],
)
def test_amounts_are_shown_in_the_currencys_minor_units(
    amount: str, currency: str | None, shown: str
) -> None:
    assert str(round_money(Decimal(amount), currency)) == shown
