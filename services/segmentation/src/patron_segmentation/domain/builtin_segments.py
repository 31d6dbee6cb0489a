"""The built-in segments, written in the rule language custom segments use.

One language for both means one evaluator, one SQL compiler and one set of property tests:
a built-in segment is a rule the product ships, with thresholds from the settings
(`CUSTOMERS_*`, listed in the README with these definitions):

- new: exactly one order, placed within `new_days`;
- returning: at least two orders;
- loyal: at least `loyal_min_orders` orders, the last within `at_risk_days`;
- vip: at least `vip_order_threshold` orders, or spend of at least `vip_spend_threshold`;
- at_risk: no order for more than `at_risk_days`, after at least `at_risk_min_orders`;
- high_value: spend of at least `high_value_spend_threshold`;
- one_time_buyers: exactly one order, placed more than `one_time_days` ago;
- engagement, by the last order: active (within `active_days`), dormant (none for more than
  `dormant_days`, or never ordered and registered more than `dormant_days` ago), and new
  (registered within `new_days`, no order yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from patron_segmentation.domain.rules import Rule, parse


@dataclass(frozen=True)
class BuiltinThresholds:
    vip_order_threshold: int = 10
    vip_spend_threshold: Decimal = Decimal("50000")
    new_days: int = 30
    loyal_min_orders: int = 5
    at_risk_days: int = 90
    at_risk_min_orders: int = 5
    high_value_spend_threshold: Decimal = Decimal("10000")
    one_time_days: int = 30
    active_days: int = 30
    dormant_days: int = 180


@dataclass(frozen=True)
class BuiltinSegment:
    key: str
    label: str
    rule: Rule


@cache
def builtin_segments(t: BuiltinThresholds) -> tuple[BuiltinSegment, ...]:
    """Every built-in segment, in the order reports list them (parsed once per thresholds:
    every customer event asks for them)."""
    definitions = (
        ("new", "New", f"order_count = 1 AND first_order_at >= -{t.new_days}d"),
        ("returning", "Returning", "order_count >= 2"),
        (
            "loyal",
            "Loyal",
            f"order_count >= {t.loyal_min_orders} AND last_order_at >= -{t.at_risk_days}d",
        ),
        (
            "vip",
            "VIP",
            f"order_count >= {t.vip_order_threshold} OR total_spent >= {t.vip_spend_threshold}",
        ),
        (
            "at_risk",
            "At risk",
            f"last_order_at < -{t.at_risk_days}d AND order_count >= {t.at_risk_min_orders}",
        ),
        ("high_value", "High value", f"total_spent >= {t.high_value_spend_threshold}"),
        (
            "one_time_buyers",
            "One-time buyers",
            f"order_count = 1 AND last_order_at < -{t.one_time_days}d",
        ),
        ("engagement_active", "Active", f"last_order_at >= -{t.active_days}d"),
        (
            "engagement_dormant",
            "Dormant",
            f"last_order_at < -{t.dormant_days}d"
            f" OR (order_count = 0 AND registered_at < -{t.dormant_days}d)",
        ),
        (
            "engagement_new",
            "Recently registered",
            f"order_count = 0 AND registered_at >= -{t.new_days}d",
        ),
    )
    return tuple(BuiltinSegment(key, label, parse(text)) for key, label, text in definitions)


def builtin(t: BuiltinThresholds, key: str) -> BuiltinSegment:
    for segment in builtin_segments(t):
        if segment.key == key:
            return segment
    raise KeyError(key)
