"""The segment rule language: reading both forms, errors that point, and evaluation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings

from patron_segmentation.domain.rules import (
    And,
    Between,
    Compare,
    Contains,
    In,
    IsNull,
    Not,
    Or,
    RelativeTime,
    RuleError,
    evaluate,
    from_json,
    is_time_relative,
    matches,
    parse,
    render,
    to_json,
)

from .rule_strategies import NOW, customer_facts, rules


def test_the_issues_examples_read_as_they_say() -> None:
    assert parse('total_spent > 1000 AND last_order_at < -90d AND tags CONTAINS "gift"') == And(
        (
            Compare("total_spent", ">", Decimal(1000)),
            Compare("last_order_at", "<", RelativeTime(-90, "d")),
            Contains("tags", "gift"),
        )
    )
    assert parse("last_order_month IN (11, 12) AND order_total_max > 100") == And(
        (
            In("last_order_month", (Decimal(11), Decimal(12))),
            Compare("order_total_max", ">", Decimal(100)),
        )
    )


def test_and_binds_tighter_than_or_and_keywords_take_any_case() -> None:
    assert parse("age > 30 or age < 20 and country = 'IN'") == Or(
        (
            Compare("age", ">", Decimal(30)),
            And((Compare("age", "<", Decimal(20)), Compare("country", "=", "IN"))),
        )
    )


def test_every_condition_form_reads() -> None:
    rule = parse(
        "NOT (country NOT IN ('US', 'CA') OR age NOT BETWEEN 18 AND 24) "
        "AND last_order_at IS NOT NULL AND gender IS NULL AND accepts_marketing = true "
        "AND registered_at >= 2026-01-31 AND first_order_at <> 2026-01-31T10:00:00Z "
        "AND tags NOT CONTAINS \"test\" AND categories IN ('shoes')"
    )
    assert rule == And(
        (
            Not(
                Or(
                    (
                        In("country", ("US", "CA"), negated=True),
                        Between("age", Decimal(18), Decimal(24), negated=True),
                    )
                )
            ),
            IsNull("last_order_at", negated=True),
            IsNull("gender"),
            Compare("accepts_marketing", "=", True),
            Compare("registered_at", ">=", datetime(2026, 1, 31, tzinfo=UTC)),
            Compare("first_order_at", "!=", datetime(2026, 1, 31, 10, tzinfo=UTC)),
            Not(Contains("tags", "test")),
            In("categories", ("shoes",)),
        )
    )


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("total_spent > ", 14, "expected a value for total_spent"),
        ("total_spnt > 5", 0, "unknown fact 'total_spnt'"),
        ("total_spent >> 5", 13, "expected a value"),
        ("age > 5 AND", 11, "expected a fact name"),
        ("(age > 5", 8, "expected ')'"),
        ("age > 5 age < 9", 8, "expected AND, OR or the end"),
        ("country > 'US'", 8, "country is text"),
        ("tags = 'vip'", 5, "tags is a list"),
        ("age CONTAINS 'x'", 4, "age is not a list"),
        ("total_spent > 'lots'", 14, "total_spent takes a number"),
        ("last_order_at < 90 days", 16, "takes a date"),
        ("country = US", 10, "expected a value"),
        ("age > 5 # comment", 8, "unexpected '# comment'"),
        ("", 0, "the rule is empty"),
    ],
)
def test_a_bad_rule_is_refused_naming_where(text: str, position: int, message: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse(text)

    assert raised.value.position == position
    assert message in raised.value.message


@settings(max_examples=300, deadline=None)
@given(rules())
def test_the_text_form_reads_back_as_the_same_rule(rule: And) -> None:
    assert parse(render(rule)) == rule


@settings(max_examples=300, deadline=None)
@given(rules())
def test_the_json_form_reads_back_as_the_same_rule(rule: And) -> None:
    assert from_json(to_json(rule)) == rule


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"and": []}, "rule", "non-empty list"),
        ({"or": [{"field": "age", "op": ">", "value": "x"}]}, "rule.or[0].value", "a number"),
        ({"field": "agee", "op": "=", "value": 1}, "rule.field", "unknown fact"),
        ({"field": "age", "op": "~", "value": 1}, "rule.op", "unknown op"),
        ({"field": "age", "op": "between", "values": [1]}, "rule.values", "2 values"),
        ({"not": {"field": "tags", "op": "=", "value": "x"}}, "rule.not.op", "tags is a list"),
        ([1], "rule", "expected an object"),
    ],
)
def test_a_bad_json_rule_is_refused_naming_the_path(data: object, path: str, message: str) -> None:
    with pytest.raises(RuleError) as raised:
        from_json(data)

    assert raised.value.path == path
    assert message in raised.value.message


def test_json_numbers_and_times_come_as_the_rule_needs_them() -> None:
    rule = from_json(
        {
            "and": [
                {"field": "total_spent", "op": ">=", "value": 99.5},
                {"field": "last_order_at", "op": "between", "values": ["-3m", "2026-01-01"]},
            ]
        }
    )

    assert rule == And(
        (
            Compare("total_spent", ">=", Decimal("99.5")),
            Between("last_order_at", RelativeTime(-3, "m"), datetime(2026, 1, 1, tzinfo=UTC)),
        )
    )
    assert to_json(rule)["and"][0]["value"] == "99.5"


def test_an_unknown_fact_makes_a_condition_unknown_and_three_valued_logic_follows() -> None:
    never_ordered = {"last_order_at": None, "order_count": 0, "tags": []}
    quiet = parse("last_order_at < -90d")

    assert evaluate(quiet, never_ordered, NOW) is None
    assert evaluate(Not(quiet), never_ordered, NOW) is None
    assert evaluate(parse("last_order_at < -90d OR order_count = 0"), never_ordered, NOW) is True
    assert evaluate(parse("last_order_at < -90d AND order_count = 1"), never_ordered, NOW) is False
    assert not matches(Not(quiet), never_ordered, NOW)
    assert matches(parse("last_order_at IS NULL"), never_ordered, NOW)
    assert matches(parse("NOT tags CONTAINS 'vip'"), never_ordered, NOW)


def test_relative_times_count_calendar_months_from_the_moment_of_evaluation() -> None:
    end_of_march = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)

    assert RelativeTime(-1, "m").resolve(end_of_march) == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert RelativeTime(-1, "y").resolve(end_of_march) == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)
    assert RelativeTime(2, "w").resolve(end_of_march) == datetime(2026, 4, 14, 9, 0, tzinfo=UTC)
    recent = {"last_order_at": datetime(2026, 3, 2, tzinfo=UTC)}
    assert matches(parse("last_order_at >= -30d"), recent, end_of_march)
    assert not matches(parse("last_order_at >= -30d"), recent, datetime(2026, 4, 2, tzinfo=UTC))


def test_a_rule_knows_whether_time_alone_can_change_it() -> None:
    rule = parse("(total_spent > 5 OR NOT tags CONTAINS 'x') AND last_order_at < -90d")

    assert is_time_relative(rule)
    assert not is_time_relative(parse("last_order_at < 2026-01-01 AND age > 3"))


@settings(max_examples=200, deadline=None)
@given(rules(), customer_facts())
def test_not_turns_true_to_false_and_leaves_unknown_unknown(
    rule: And, facts: dict[str, object]
) -> None:
    result = evaluate(rule, facts, NOW)

    assert evaluate(Not(rule), facts, NOW) == (None if result is None else not result)
