"""Segment rules as SQL: a WHERE clause over the columns that hold each fact.

Every value travels as a bound parameter, never in the statement's text. Relative times are
resolved against `now` before binding, so the database and `rules.evaluate` compare the same
instants; SQL's NULL logic is the rule language's three-valued logic.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Numeric, and_, bindparam, not_, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

from patron_segmentation.domain.fields import FIELDS, Kind
from patron_segmentation.domain.rules import (
    And,
    Between,
    Compare,
    Condition,
    Contains,
    In,
    IsNull,
    Not,
    Or,
    Rule,
    Value,
    resolved,
)

FactColumns = Mapping[str, ColumnElement[Any]]
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_rule(rule: Rule, columns: FactColumns, now: datetime) -> ColumnElement[bool]:
    """The rule as a boolean SQL expression over `columns` (fact name -> column)."""
    if isinstance(rule, And):
        return and_(*(compile_rule(item, columns, now) for item in rule.items))
    if isinstance(rule, Or):
        return or_(*(compile_rule(item, columns, now) for item in rule.items))
    if isinstance(rule, Not):
        return not_(compile_rule(rule.item, columns, now))
    return _condition(rule, columns, now)


def _condition(rule: Condition, columns: FactColumns, now: datetime) -> ColumnElement[bool]:
    column = columns.get(rule.field)
    if column is None:
        raise KeyError(f"no column holds the fact {rule.field!r}")
    kind = FIELDS[rule.field].kind
    if kind is Kind.TEXT_LIST:
        return _list_condition(rule, column)

    def bound(value: Value) -> ColumnElement[Any]:
        return bindparam(None, resolved(value, now), type_=_bind_type(kind, column))

    if isinstance(rule, IsNull):
        return column.is_not(None) if rule.negated else column.is_(None)
    if isinstance(rule, Compare):
        compared: ColumnElement[bool] = _OPERATORS[rule.op](column, bound(rule.value))
        return compared
    if isinstance(rule, In):
        found = column.in_([bound(value) for value in rule.values])
        return not_(found) if rule.negated else found
    if isinstance(rule, Between):
        within = column.between(bound(rule.low), bound(rule.high))
        return not_(within) if rule.negated else within
    raise ValueError(f"{rule.field} is not a list: CONTAINS does not apply")


def _list_condition(rule: Condition, column: ColumnElement[Any]) -> ColumnElement[bool]:
    items: list[str]
    if isinstance(rule, Contains):
        items = [rule.value]
    elif isinstance(rule, In):
        items = [str(value) for value in rule.values]
    else:
        raise ValueError(f"{rule.field} takes CONTAINS or IN")
    listed = bindparam(None, items, type_=ARRAY(column.type.item_type))  # type: ignore[attr-defined]
    if isinstance(rule, Contains):
        held: ColumnElement[bool] = column.contains(listed)
        return held
    overlaps: ColumnElement[bool] = column.overlap(listed)
    return not_(overlaps) if rule.negated else overlaps


def _bind_type(kind: Kind, column: ColumnElement[Any]) -> TypeEngine[Any]:
    # numbers bind as exact decimals, whatever the column: 99.5 must not reach an integer
    # column as 99 (or 100)
    if kind.is_numeric:
        return Numeric()
    if kind is Kind.BOOLEAN:
        return Boolean()
    return column.type
