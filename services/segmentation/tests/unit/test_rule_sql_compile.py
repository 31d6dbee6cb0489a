"""Compiling segment rules to SQL: values are bound, never written into the statement."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from patron_segmentation.adapters.rule_sql import compile_rule
from patron_segmentation.domain.fields import FIELDS
from patron_segmentation.domain.rules import parse

from .rule_strategies import NOW, facts_table


def test_values_reach_the_database_as_parameters_not_as_text() -> None:
    table = facts_table("customer_facts_shape")
    rule = parse(
        r"country = 'x\'; DROP TABLE customers; --' AND total_spent > 99.5 "
        r"AND last_order_at < -90d AND tags CONTAINS 'gift'"
    )

    where = compile_rule(rule, {name: table.c[name] for name in FIELDS}, NOW)
    compiled = select(table.c.id).where(where).compile(dialect=postgresql.dialect())

    statement = str(compiled)
    assert "DROP" not in statement
    assert "99.5" not in statement
    assert "gift" not in statement
    params = list(compiled.params.values())
    assert "x'; DROP TABLE customers; --" in params
    assert Decimal("99.5") in params
    assert ["gift"] in params
    assert "@>" in statement
