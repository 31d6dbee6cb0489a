"""The built-in segments: what each means, on the facts of typical customers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from patron_segmentation.domain.builtin_segments import (
    BuiltinThresholds,
    builtin,
    builtin_segments,
)
from patron_segmentation.domain.rules import matches
from patron_segmentation.settings import SegmentationSettings

from .rule_strategies import NOW


def customer(
    orders: int = 0,
    spent: str = "0",
    first_days_ago: int | None = None,
    last_days_ago: int | None = None,
    registered_days_ago: int = 400,
) -> dict[str, Any]:
    def ago(days: int | None) -> Any:
        return None if days is None else NOW - timedelta(days=days)

    return {
        "order_count": orders,
        "total_spent": Decimal(spent),
        "first_order_at": ago(first_days_ago),
        "last_order_at": ago(last_days_ago),
        "registered_at": ago(registered_days_ago),
    }


def segments_of(facts: dict[str, Any], thresholds: BuiltinThresholds | None = None) -> set[str]:
    shipped = builtin_segments(thresholds or BuiltinThresholds())
    return {s.key for s in shipped if matches(s.rule, facts, NOW)}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (customer(1, "40", 3, 3), {"new", "engagement_active"}),
        (customer(1, "40", 45, 45), {"one_time_buyers"}),
        (customer(2, "90", 70, 10), {"returning", "engagement_active"}),
        (customer(6, "900", 300, 20), {"returning", "loyal", "engagement_active"}),
        (customer(6, "900", 300, 120), {"returning", "at_risk"}),
        (customer(10, "700", 400, 200), {"returning", "vip", "at_risk", "engagement_dormant"}),
        (customer(1, "50000", 60, 60), {"one_time_buyers", "vip", "high_value"}),
        (customer(3, "12000", 100, 50), {"returning", "high_value"}),
        (customer(registered_days_ago=5), {"engagement_new"}),
        (customer(registered_days_ago=365), {"engagement_dormant"}),
        (customer(registered_days_ago=100), set()),
    ],
)
def test_typical_customers_land_in_the_segments_the_product_docs_describe(
    facts: dict[str, Any], expected: set[str]
) -> None:
    assert segments_of(facts) == expected


def test_the_thresholds_come_from_the_customers_settings() -> None:
    settings = SegmentationSettings(
        CUSTOMERS_VIP_ORDER_THRESHOLD=3, CUSTOMERS_VIP_SPEND_THRESHOLD="1000"
    )
    thresholds = settings.builtin_thresholds()

    assert (thresholds.vip_order_threshold, thresholds.vip_spend_threshold) == (3, Decimal(1000))
    assert "vip" in segments_of(customer(3, "10", 50, 5), thresholds)
    assert "vip" not in segments_of(customer(3, "10", 50, 5))
    assert str(builtin(thresholds, "vip").rule.items[1].value) == "1000"  # type: ignore[union-attr]


def test_every_built_in_segment_has_a_distinct_key_and_label() -> None:
    shipped = builtin_segments(BuiltinThresholds())

    assert len({s.key for s in shipped}) == len({s.label for s in shipped}) == 10
