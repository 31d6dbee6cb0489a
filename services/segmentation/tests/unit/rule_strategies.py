"""Hypothesis strategies for segment rules and the customer facts they are evaluated on, and
a table with a column per fact to evaluate them in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY

from patron_segmentation.domain.fields import FIELDS, Kind
from patron_segmentation.domain.rules import (
    Between,
    Compare,
    Contains,
    In,
    IsNull,
    Not,
    RelativeTime,
    Rule,
    Value,
    all_of,
    any_of,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
# a few values per kind, so that random customers and random rules often meet
TEXTS = ("US", "IN", "gold", "silver", "female", "Pune", 'say "hi"', "back\\slash")
ITEMS = ("gift", "vip", "apparel", "shoes")
NUMBERS = tuple(Decimal(n) for n in ("0", "1", "2", "5", "10", "99.50", "1000", "-3"))
TIMES = tuple(NOW - timedelta(days=d) for d in (0, 1, 29, 30, 31, 90, 91, 400))
RELATIVE = tuple(
    RelativeTime(n, u)
    for n, u in ((-30, "d"), (-90, "d"), (-2, "w"), (-1, "m"), (-1, "y"), (7, "d"))
)  # type: ignore[arg-type]


def values_of(kind: Kind) -> st.SearchStrategy[Value]:
    if kind.is_numeric:
        return st.sampled_from(NUMBERS)
    if kind is Kind.TIMESTAMP:
        return st.sampled_from((*TIMES, *RELATIVE))
    if kind is Kind.BOOLEAN:
        return st.booleans()
    return st.sampled_from(TEXTS)


@st.composite
def conditions(draw: st.DrawFn) -> Rule:  # noqa: PLR0911 - one return per shape
    field = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[field].kind
    if kind is Kind.TEXT_LIST:
        if draw(st.booleans()):
            return Contains(field, draw(st.sampled_from(ITEMS)))
        listed = draw(st.lists(st.sampled_from(ITEMS), min_size=1, max_size=3))
        return In(field, tuple(listed), draw(st.booleans()))
    if kind is Kind.BOOLEAN:
        return Compare(field, draw(st.sampled_from(("=", "!="))), draw(st.booleans()))
    values = values_of(kind)
    shapes = ["compare", "in", "null"] + (["between", "order"] if kind is not Kind.TEXT else [])
    shape = draw(st.sampled_from(shapes))
    if shape == "in":
        listed = draw(st.lists(values, min_size=1, max_size=3))
        return In(field, tuple(listed), draw(st.booleans()))
    if shape == "null":
        return IsNull(field, draw(st.booleans()))
    if shape == "between":
        return Between(field, draw(values), draw(values), draw(st.booleans()))
    op = draw(st.sampled_from(("<", "<=", ">", ">=") if shape == "order" else ("=", "!=")))
    return Compare(field, op, draw(values))


def rules(max_leaves: int = 8) -> st.SearchStrategy[Rule]:
    return st.recursive(
        conditions(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda items: all_of(*items)),
            st.lists(inner, min_size=2, max_size=3).map(lambda items: any_of(*items)),
            inner.map(Not),
        ),
        max_leaves=max_leaves,
    )


def _fact(kind: Kind) -> st.SearchStrategy[Any]:
    if kind is Kind.TEXT_LIST:
        return st.lists(st.sampled_from(ITEMS), max_size=3, unique=True)
    if kind is Kind.BOOLEAN:
        return st.booleans()
    if kind is Kind.INTEGER:
        return st.none() | st.sampled_from([int(n) for n in NUMBERS if n == n.to_integral()])
    known: st.SearchStrategy[Any] = (
        st.sampled_from(NUMBERS)
        if kind is Kind.MONEY
        else st.sampled_from(TIMES) | st.sampled_from([r.resolve(NOW) for r in RELATIVE])
        if kind is Kind.TIMESTAMP
        else st.sampled_from(TEXTS)
    )
    return st.none() | known


def customer_facts() -> st.SearchStrategy[dict[str, Any]]:
    """One customer's facts: every field, unknown (None) where a field may be."""
    return st.fixed_dictionaries({name: _fact(field.kind) for name, field in FIELDS.items()})


_COLUMN_TYPES = {
    Kind.INTEGER: Integer(),
    Kind.MONEY: Numeric(14, 2),
    Kind.TIMESTAMP: DateTime(timezone=True),
    Kind.TEXT: Text(),
    Kind.BOOLEAN: Boolean(),
}


def facts_table(name: str) -> Table:
    columns = [Column("id", Integer, primary_key=True)]
    for field in FIELDS.values():
        if field.kind is Kind.TEXT_LIST:
            columns.append(Column(field.name, ARRAY(Text), nullable=False))
        else:
            columns.append(
                Column(
                    field.name, _COLUMN_TYPES[field.kind], nullable=field.kind is not Kind.BOOLEAN
                )
            )
    return Table(name, MetaData(), *columns)
