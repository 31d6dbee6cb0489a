"""Source connectors and their deliveries: all the SQL they need.

A connector's secret is sealed before it is written and opened as it is read, so the table
never holds one in the clear.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from patron_identity.adapters.tables import source_connectors, source_deliveries
from patron_identity.domain.connectors import (
    ERASED_EXTERNAL_ID,
    Connector,
    ConnectorCursor,
    ConnectorSource,
    DeliveryRecord,
)
from patron_shared.secrets import SecretBox

_COLUMNS = (
    "id",
    "tenant_id",
    "source",
    "account",
    "name",
    "secret",
    "verify_token_hash",
    "status",
    "created_at",
    "updated_at",
    "disabled_at",
)
_MUTABLE = ("secret", "verify_token_hash", "status", "updated_at", "disabled_at")


class SqlConnectorRepository:
    def __init__(self, session: AsyncSession, tenant_id: str, box: SecretBox) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self._box = box

    async def add(self, connector: Connector) -> bool:
        """False when the tenant already has an active connector for this account."""
        insert = (
            pg_insert(source_connectors)
            .values(**_stored(connector, _COLUMNS, self._box))
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "source", "account"],
                index_where=text("status = 'active'"),
            )
            .returning(source_connectors.c.id)
        )
        return (await self._session.execute(insert)).first() is not None

    async def get(self, connector_id: uuid.UUID, *, for_update: bool = False) -> Connector | None:
        c = source_connectors.c
        query = select(source_connectors).where(
            c.tenant_id == self._tenant_id, c.id == connector_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_connector(row, self._box)

    async def save(self, connector: Connector) -> None:
        c = source_connectors.c
        await self._session.execute(
            update(source_connectors)
            .where(c.tenant_id == self._tenant_id, c.id == connector.id)
            .values(**_stored(connector, _MUTABLE, self._box))
        )

    async def page(
        self,
        *,
        source: ConnectorSource | None,
        active_only: bool,
        after: ConnectorCursor | None,
        limit: int,
    ) -> Sequence[Connector]:
        """Oldest first, by (created_at, id)."""
        c = source_connectors.c
        query = select(source_connectors).where(c.tenant_id == self._tenant_id)
        if source is not None:
            query = query.where(c.source == source)
        if active_only:
            query = query.where(c.status == "active")
        if after is not None:
            query = query.where(tuple_(c.created_at, c.id) > tuple_(after.created_at, after.id))
        rows = await self._session.execute(query.order_by(c.created_at, c.id).limit(limit))
        return [_to_connector(row, self._box) for row in rows]


class SqlConnectorDirectory:
    """Finds a connector by id alone, for the webhook that names it and no tenant."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._session_factory = session_factory
        self._box = box

    async def find(self, connector_id: uuid.UUID) -> Connector | None:
        async with self._session_factory() as session, session.begin():
            # Transaction-local, like the tenant setting: a pooled connection keeps nothing.
            await session.execute(
                text("SELECT set_config('patron.connector_id', :id, true)"),
                {"id": str(connector_id)},
            )
            query = select(source_connectors).where(source_connectors.c.id == connector_id)
            row = (await session.execute(query)).first()
        return None if row is None else _to_connector(row, self._box)


class SqlSourceDeliveryRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def claim(self, channel: str, key: str, fingerprint: str) -> DeliveryRecord | None:
        """Record the delivery; None when this is its first time, else what was recorded.

        A concurrent claim of the same key waits on it until this transaction ends, then
        finds the committed record (or claims it, if this one rolled back).
        """
        inserted = await self._session.execute(
            pg_insert(source_deliveries)
            .values(
                tenant_id=self._tenant_id,
                channel=channel,
                delivery_key=key,
                fingerprint=fingerprint,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "channel", "delivery_key"])
            .returning(source_deliveries.c.delivery_key)
        )
        if inserted.first() is not None:
            return None
        d = source_deliveries.c
        row = (
            await self._session.execute(
                select(d.fingerprint, d.outcome).where(
                    d.tenant_id == self._tenant_id, d.channel == channel, d.delivery_key == key
                )
            )
        ).one()
        return DeliveryRecord(fingerprint=row.fingerprint, outcome=row.outcome)

    async def record_outcome(self, channel: str, key: str, outcome: list[dict[str, Any]]) -> None:
        d = source_deliveries.c
        await self._session.execute(
            update(source_deliveries)
            .where(d.tenant_id == self._tenant_id, d.channel == channel, d.delivery_key == key)
            .values(outcome=outcome)
        )

    async def forget_customer(self, customer_id: uuid.UUID) -> int:
        """Blank the source's id of the customer in the results that name it (the rest of a
        batch's results stay, for replays); returns how many deliveries named it."""
        result = await self._session.execute(
            _FORGET_CUSTOMER,
            {
                "tenant": self._tenant_id,
                "customer": str(customer_id),
                "names": json.dumps([{"customer_id": str(customer_id)}]),
                "erased": json.dumps(ERASED_EXTERNAL_ID),
            },
        )
        return int(getattr(result, "rowcount", 0) or 0)


# Containment finds the deliveries; each of their results naming the customer is rewritten
# in place, in order.
_FORGET_CUSTOMER = text(
    """
    UPDATE source_deliveries AS d
    SET outcome = (
        SELECT jsonb_agg(
            CASE WHEN result ->> 'customer_id' = :customer
                THEN jsonb_set(result, '{external_id}', CAST(:erased AS jsonb))
                ELSE result END
            ORDER BY position
        )
        FROM jsonb_array_elements(d.outcome) WITH ORDINALITY AS results(result, position)
    )
    WHERE d.tenant_id = :tenant
      AND d.outcome @> CAST(:names AS jsonb)
    """
)


async def purge_source_deliveries(
    engine: AsyncEngine, older_than: timedelta, *, batch: int = 10_000
) -> int:
    """Forget every tenant's deliveries received longer ago than `older_than`, a batch per
    transaction; returns how many."""
    purged = 0
    while True:
        async with engine.begin() as connection:
            result = await connection.execute(
                text("SELECT purge_source_deliveries(:older_than, :batch)"),
                {"older_than": older_than, "batch": batch},
            )
            count = int(result.scalar_one())
        purged += count
        if count < batch:
            return purged


def _stored(connector: Connector, names: Sequence[str], box: SecretBox) -> dict[str, Any]:
    values = {name: getattr(connector, name) for name in names}
    values["secret"] = box.seal(connector.secret)
    return values


def _to_connector(row: Row[Any], box: SecretBox) -> Connector:
    values = {name: getattr(row, name) for name in _COLUMNS}
    return Connector(**values | {"secret": box.open(values["secret"])})
