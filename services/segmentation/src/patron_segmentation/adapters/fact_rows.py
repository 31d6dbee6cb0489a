"""Writing some columns of a customer's facts row, making the row if there is none yet.

Events about a customer (an order, an address, a merge) can come before its creation does;
each kind of event writes only its own columns, so none overwrites another's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.tables import customer_facts
from patron_shared.db import json_recordset

# The snapshot time of a row no customer event has written yet: any snapshot is newer.
NO_SNAPSHOT_YET = datetime(1970, 1, 1, tzinfo=UTC)


async def write_fact_columns(
    session: AsyncSession, tenant_id: str, customer_id: uuid.UUID, values: Mapping[str, Any]
) -> None:
    """Set `values` on the customer's facts row (none: only make sure the row exists)."""
    if values:
        await write_fact_rows(session, tenant_id, {customer_id: values})
        return
    await session.execute(
        pg_insert(customer_facts)
        .values(tenant_id=tenant_id, customer_id=customer_id, source_updated_at=NO_SNAPSHOT_YET)
        .on_conflict_do_nothing(index_elements=["tenant_id", "customer_id"])
    )


async def write_fact_rows(
    session: AsyncSession, tenant_id: str, rows: Mapping[uuid.UUID, Mapping[str, Any]]
) -> None:
    """`write_fact_columns` for many customers in one statement: each customer's values, all
    naming the same columns (rows in customer order, so concurrent writers never
    deadlock)."""
    if not rows:
        return
    columns = [*next(iter(rows.values())).keys()]
    written = ["tenant_id", "customer_id", "source_updated_at", *columns]
    values = json_recordset(
        customer_facts,
        [
            {
                "tenant_id": tenant_id,
                "customer_id": customer_id,
                "source_updated_at": NO_SNAPSHOT_YET,
                **rows[customer_id],
            }
            for customer_id in sorted(rows)
        ],
        written,
    )
    insert = pg_insert(customer_facts).from_select(
        written, select(*(values.c[name] for name in written))
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id"],
            set_={name: insert.excluded[name] for name in columns} | {"updated_at": func.now()},
        )
    )
