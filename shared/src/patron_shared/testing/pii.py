"""Proof of erasure: search every text-bearing column of every table of a database for given
values (an erased customer's email, phone, name).

`information_schema` lists the tables and their text, JSON, array and network columns; each
column is searched case-insensitively with its value cast to text. Connect as a superuser
(row-level security would hide other tenants' rows from the application role).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerErased,
    CustomerSnapshot,
    Envelope,
    OrderPaid,
    OrderPlaced,
    build_envelope,
)
from patron_shared.testing.doubles import deliver_record

TEXT_TYPES = frozenset(
    {"text", "character varying", "character", "json", "jsonb", "ARRAY", "inet", "citext"}
)


@dataclass(frozen=True)
class TextHit:
    table: str
    column: str
    value: str
    rows: int


def plain_dsn(url: str) -> str:
    """An asyncpg DSN from an SQLAlchemy URL (`postgresql+asyncpg://...`) or a plain one."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgresql") else url


async def text_columns(connection: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every text-bearing column of every base table."""
    rows = await connection.fetch(
        """
        SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.udt_name
        FROM information_schema.columns c
        JOIN information_schema.tables t
          ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE t.table_type = 'BASE TABLE'
          AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY c.table_schema, c.table_name, c.ordinal_position
        """
    )
    return [
        (row["table_schema"], row["table_name"], row["column_name"])
        for row in rows
        if row["data_type"] in TEXT_TYPES or row["udt_name"] in TEXT_TYPES
    ]


async def find_values(url: str, values: Iterable[str]) -> list[TextHit]:
    """Where in the database at `url` any of `values` still appears (empty: nowhere)."""
    wanted = [value for value in values if value]
    hits: list[TextHit] = []
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        for schema, table, column in await text_columns(connection):
            qualified = f'"{schema}"."{table}"'
            for value in wanted:
                count = await connection.fetchval(
                    f'SELECT count(*) FROM {qualified} WHERE "{column}"::text ILIKE $1',  # noqa: S608 - names from the catalog
                    "%" + _escape_like(value) + "%",
                )
                if count:
                    hits.append(TextHit(f"{schema}.{table}", column, value, int(count)))
    finally:
        await connection.close()
    return hits


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def deliver_everywhere(runtime: Any, envelope: Envelope) -> list[str]:
    """Hand `envelope` to every consumer of the service that handles its type (a service may
    have several, e.g. loyalty's points and credit for `CustomerErased`); their outcomes."""
    return [
        await deliver_record(runtime, envelope, consumer=index)
        for index, consumer in enumerate(runtime.consumers)
        if envelope.type in consumer.handled_types
    ]


async def erasure_acknowledgements(url: str, erasure_id: uuid.UUID) -> list[dict[str, Any]]:
    """The `ErasureAcknowledged` events for `erasure_id` in the outbox of the database at `url`
    (their `data`)."""
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT payload::text AS payload FROM outbox "
            "WHERE message_type = 'ErasureAcknowledged' AND payload->'data'->>'erasure_id' = $1",
            str(erasure_id),
        )
    finally:
        await connection.close()
    return [json.loads(row["payload"])["data"] for row in rows]


async def check_customer_erasure(
    runtime: Any,
    tenant: str,
    owner_url: str,
    *,
    acknowledged_by: Iterable[str],
    keeps_personal_values: bool,
) -> None:
    """A service's erasure, proven on its database: a customer is created and orders (paid)
    through the service's own consumers, then erased (`anonymize`). Afterwards no text
    column of any table (outbox and inbox included) holds the email, phone or name, and
    each of `acknowledged_by` acknowledged the erasure once. A service that
    `keeps_personal_values` must have held them before, or the search proves nothing."""
    marker = uuid.uuid4().hex[:10]
    customer_id, now = uuid.uuid4(), datetime.now(UTC)
    snapshot = CustomerSnapshot(
        email=f"erase-{marker}@example.com",
        phone=f"+1415555{int(marker[:6], 16) % 10000:04d}",
        first_name=f"Zelda{marker[:5]}",
        last_name=f"Quist{marker[5:]}",
        accepts_marketing=True,
        created_at=now,
        updated_at=now,
    )
    values = [
        value
        for value in (snapshot.email, snapshot.phone, snapshot.first_name, snapshot.last_name)
        if value
    ]
    order = f"E-{marker}"
    history: list[Contract] = [
        CustomerCreated(customer_id=customer_id, customer=snapshot),
        OrderPlaced(
            order_id=order,
            customer_id=customer_id,
            currency="USD",
            total=Decimal("80.00"),
            placed_at=now,
        ),
        OrderPaid(
            order_id=order,
            customer_id=customer_id,
            amount=Decimal("80.00"),
            currency="USD",
            paid_at=now,
        ),
    ]
    for event in history:
        await deliver_everywhere(runtime, build_envelope(event, tenant_id=tenant, source="tests"))
    if keeps_personal_values:
        assert await find_values(owner_url, values), "the values were there before"
    erasure_id = uuid.uuid4()
    erased = CustomerErased(
        customer_id=customer_id, mode="anonymize", erased_at=now, erasure_id=erasure_id
    )

    outcomes = await deliver_everywhere(
        runtime, build_envelope(erased, tenant_id=tenant, source="profile")
    )

    assert outcomes, "some consumer of the service handles CustomerErased"
    assert set(outcomes) == {"processed"}
    assert await find_values(owner_url, values) == []
    acks = await erasure_acknowledgements(owner_url, erasure_id)
    assert sorted(ack["service"] for ack in acks) == sorted(acknowledged_by)
    assert {ack["customer_id"] for ack in acks} == {str(customer_id)}
