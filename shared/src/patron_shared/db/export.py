"""GDPR export: everything one service holds on one customer, read table by table.

A service lists its parts (`ExportPart`: a table and which of its rows belong to the
customer); `read_export` reads them in the caller's tenant and turns each row into plain
JSON values. Memory stays bounded: a list part holds at most `rows_per_part` rows, newest
first, and the document names the parts that were cut (`truncated`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

EXPORT_ROWS_PER_PART = 10_000
"""Most rows one list part of an export holds (the newest ones)."""

CustomerMatch = Callable[[Table, uuid.UUID], ColumnElement[bool]]
CustomerColumn = Callable[[Table, uuid.UUID], ColumnElement[Any]]
"""A value computed for the customer from a row, e.g. the customer's own entries of a JSON
list that names other customers too."""


def by_column(name: str) -> CustomerMatch:
    """Rows whose column `name` is the customer's id."""

    def match(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
        return table.c[name] == customer_id

    return match


def by_any_column(*names: str) -> CustomerMatch:
    """Rows where any of the columns `names` is the customer's id (e.g. both merge sides)."""

    def match(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = table.c[names[0]] == customer_id
        for name in names[1:]:
            condition = condition | (table.c[name] == customer_id)
        return condition

    return match


@dataclass(frozen=True)
class ExportPart:
    """One part of a service's export: `table`'s rows that `match` the customer."""

    name: str
    table: Table
    match: CustomerMatch = field(default_factory=lambda: by_column("customer_id"))
    # newest first; a part with `single` holds one object (or null) instead of a list
    order_by: Sequence[str] = ()
    single: bool = False
    # columns left out: internal bookkeeping, never the customer's data
    omit: frozenset[str] = frozenset({"tenant_id"})
    # columns computed for the customer: one named as a table column replaces it
    computed: Mapping[str, CustomerColumn] = field(default_factory=dict)


@dataclass
class ExportDocument:
    data: dict[str, Any] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)


async def read_export(
    session: AsyncSession,
    tenant_id: str,
    customer_id: uuid.UUID,
    parts: Sequence[ExportPart],
    *,
    rows_per_part: int = EXPORT_ROWS_PER_PART,
) -> ExportDocument:
    """Each part's rows for `customer_id` in `tenant_id`, as JSON values."""
    document = ExportDocument()
    for part in parts:
        table = part.table
        columns: list[ColumnElement[Any]] = [
            part.computed[column.name](table, customer_id).label(column.name)
            if column.name in part.computed
            else column
            for column in table.c
            if column.name not in part.omit
        ]
        columns += [
            compute(table, customer_id).label(name)
            for name, compute in part.computed.items()
            if name not in table.c
        ]
        query = select(*columns).where(part.match(table, customer_id))
        if "tenant_id" in table.c:
            query = query.where(table.c.tenant_id == tenant_id)
        query = query.order_by(*(table.c[name].desc().nulls_last() for name in part.order_by))
        limit = 1 if part.single else rows_per_part + 1
        rows = [
            to_jsonable_python(dict(row))
            for row in (await session.execute(query.limit(limit))).mappings()
        ]
        if part.single:
            document.data[part.name] = rows[0] if rows else None
            continue
        if len(rows) > rows_per_part:
            rows = rows[:rows_per_part]
            document.truncated.append(part.name)
        document.data[part.name] = rows
    return document
