"""SQL expressions every service builds the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic_core import to_json
from sqlalchemy import ColumnElement, Table, Text, any_, bindparam, cast, func, literal_column
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias


def is_one_of(column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """`column = ANY($1)` with the values as one array parameter: one statement text (and one
    prepared statement) however many values, where `IN` renders a parameter per value."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def json_recordset(
    table: Table, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> TableValuedAlias:
    """`rows` as a table of `table`'s row type (`columns` of it), passed as one JSON
    parameter: `jsonb_populate_recordset(NULL::<table>, $1)`.

    An INSERT ... SELECT, UPDATE ... FROM or DELETE ... USING over it writes any number of
    rows with one statement, planned once, where parameter sets run (and plan) a statement
    per row. Values are serialised as JSON (UUIDs, times and Decimals as strings) and
    PostgreSQL reads each back with the column's own type.
    """
    payload = to_json([{name: row.get(name) for name in columns} for row in rows]).decode()
    recordset = func.jsonb_populate_recordset(
        literal_column(f"NULL::{table.fullname}"),
        cast(bindparam(None, payload, type_=Text), JSONB),
    )
    return recordset.table_valued(*(table.c[name] for name in columns), name=f"{table.name}_rows")


async def copy_records(
    session: AsyncSession,
    table: str,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]],
    *,
    schema_name: str | None = None,
) -> None:
    """`records` into `table` with one binary COPY on the session's connection, inside its
    transaction: no statement per row, no parameters to parse. A table under row-level
    security refuses COPY: copy into a temporary table and INSERT ... SELECT from it."""
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(
        table, schema_name=schema_name, columns=list(columns), records=records
    )
