"""Which segments a customer is in: its facts, as rules read them, held against each rule.

The same rules run as SQL over all customers (a sweep, a changed rule); here they run in
Python over one customer whose facts just changed. The rule language guarantees both give
the same answer (a property test holds them to it), so a customer's membership does not
depend on which of the two found it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from patron_segmentation.domain.builtin_segments import BuiltinThresholds, builtin_segments
from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.domain.rules import Rule, matches
from patron_segmentation.domain.segments import Segment

VIP = "vip"


@dataclass(frozen=True)
class SegmentDefinition:
    key: str  # a built-in segment's key, or a custom segment's id
    name: str
    rule: Rule


def definitions(
    thresholds: BuiltinThresholds, custom: Iterable[Segment]
) -> list[SegmentDefinition]:
    """Every segment of a tenant: the built-in ones, then its own."""
    return [
        *(SegmentDefinition(s.key, s.label, s.rule) for s in builtin_segments(thresholds)),
        *(SegmentDefinition(str(s.id), s.name, s.rule) for s in custom),
    ]


def age_on(date_of_birth: date | None, now: datetime) -> int | None:
    """Whole years lived by `now` (UTC); a 29 February birthday comes on 1 March."""
    if date_of_birth is None:
        return None
    today = now.date()
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday


def rule_facts(facts: CustomerFacts, now: datetime) -> dict[str, Any]:
    """The customer's facts under the names rules use (facts not collected are absent)."""
    orders = facts.orders
    return {
        "order_count": orders.order_count,
        "total_spent": orders.total_spent,
        "average_order_value": orders.average_order_value,
        "order_total_max": orders.order_total_max,
        "order_total_min": orders.order_total_min,
        "first_order_at": orders.first_order_at,
        "last_order_at": orders.last_order_at,
        "last_order_month": orders.last_order_month,
        "registered_at": facts.registered_at,
        "gender": facts.gender,
        "source": facts.source,
        "age": age_on(facts.date_of_birth, now),
        "tags": list(facts.tags),
        "categories": list(orders.categories),
        "accepts_marketing": facts.accepts_marketing,
        "country": facts.country,
        "state": facts.state,
        "city": facts.city,
        "group": str(facts.group_id) if facts.group_id else None,
        "loyalty_tier": facts.loyalty_tier,
        "messages_sent": facts.messages_sent,
        "messages_opened": facts.messages_opened,
    }


def segments_holding(
    segments: Iterable[SegmentDefinition], facts: CustomerFacts | None, now: datetime
) -> set[str]:
    """The keys of the segments the customer is in now (none once deleted or merged away)."""
    if facts is None or not facts.is_live:
        return set()
    seen: Mapping[str, Any] = rule_facts(facts, now)
    return {segment.key for segment in segments if matches(segment.rule, seen, now)}
