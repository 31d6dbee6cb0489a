"""Orders and order facts in PostgreSQL: all the SQL of the order projection."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.fact_rows import write_fact_rows
from patron_segmentation.adapters.tables import orders
from patron_segmentation.domain.orders import OrderFacts
from patron_shared.db import is_one_of, json_recordset
from patron_shared.orders import OrderState, Refund

# what a fold of events changes on an order
_FOLDED = (
    "customer_id",
    "currency",
    "total",
    "placed_at",
    "order_number",
    "channel",
    "items",
    "placed_event_id",
    "paid_at",
    "cancelled_at",
    "refunds",
)


class SqlOrderRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self._new: set[str] = set()  # locked while missing: `save` inserts them

    async def lock(self, owners: Mapping[str, uuid.UUID]) -> dict[str, OrderState]:
        """The orders named, locked for this transaction (in order id order, so two batches
        sharing orders never deadlock); one not stored yet comes new, filed under the
        customer `owners` gives it, and `save` inserts it.

        Two transactions making the same order both find none; the second one's insert
        then fails on the key and its events are handled again, finding the first's row.
        """
        if not owners:
            return {}
        rows = await self._session.execute(
            select(orders)
            .where(orders.c.tenant_id == self._tenant_id, is_one_of(orders.c.order_id, owners))
            .order_by(orders.c.order_id)
            .with_for_update()
        )
        found = {row.order_id: order_state_of(row) for row in rows}
        self._new |= owners.keys() - found.keys()
        return found | {
            order_id: OrderState(order_id, customer_id)
            for order_id, customer_id in owners.items()
            if order_id not in found
        }

    async def save(self, changed: Sequence[OrderState]) -> None:
        """Write the orders as folded: each in one of two statements (new ones inserted,
        the others updated), however many there are."""
        new = [order for order in changed if order.order_id in self._new]
        stored = [order for order in changed if order.order_id not in self._new]
        if new:
            rows = json_recordset(
                orders, [self._row(order) for order in new], ["tenant_id", "order_id", *_FOLDED]
            )
            await self._session.execute(
                insert(orders).from_select(
                    ["tenant_id", "order_id", *_FOLDED],
                    select(*(rows.c[name] for name in ("tenant_id", "order_id", *_FOLDED))),
                )
            )
            self._new -= {order.order_id for order in new}
        if stored:
            rows = json_recordset(
                orders, [self._row(order) for order in stored], ["order_id", *_FOLDED]
            )
            await self._session.execute(
                update(orders)
                .where(orders.c.tenant_id == self._tenant_id, orders.c.order_id == rows.c.order_id)
                .values({name: rows.c[name] for name in _FOLDED})
            )

    def _row(self, order: OrderState) -> dict[str, Any]:
        return {
            "tenant_id": self._tenant_id,
            "order_id": order.order_id,
            "customer_id": order.customer_id,
            "currency": order.currency,
            "total": order.total,
            "placed_at": order.placed_at,
            "order_number": order.order_number,
            "channel": order.channel,
            "items": list(order.items),
            "placed_event_id": order.placed_event_id,
            "paid_at": order.paid_at,
            "cancelled_at": order.cancelled_at,
            "refunds": [_refund_json(refund) for refund in order.refunds],
        }

    async def of_customers(
        self, customer_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[OrderState]]:
        """Every order of each customer (none: an empty list)."""
        history: dict[uuid.UUID, list[OrderState]] = {c: [] for c in customer_ids}
        if history:
            rows = await self._session.execute(
                select(orders).where(
                    orders.c.tenant_id == self._tenant_id,
                    is_one_of(orders.c.customer_id, list(history)),
                )
            )
            for row in rows:
                history[row.customer_id].append(order_state_of(row))
        return history

    async def move(self, from_id: uuid.UUID, to_id: uuid.UUID) -> None:
        """A merge: the orders of `from_id` become `to_id`'s, each remembering whose it was
        first (an order moved twice keeps its first owner)."""
        await self._session.execute(
            update(orders)
            .where(orders.c.tenant_id == self._tenant_id, orders.c.customer_id == from_id)
            .values(customer_id=to_id, merged_from=func.coalesce(orders.c.merged_from, from_id))
        )

    async def move_back(self, restored_id: uuid.UUID) -> None:
        """An unmerge: the orders a merge took from `restored_id` are its own again."""
        await self._session.execute(
            update(orders)
            .where(orders.c.tenant_id == self._tenant_id, orders.c.merged_from == restored_id)
            .values(customer_id=restored_id, merged_from=None)
        )

    async def erase(self, customer_id: uuid.UUID) -> None:
        await self._session.execute(
            delete(orders).where(
                orders.c.tenant_id == self._tenant_id, orders.c.customer_id == customer_id
            )
        )

    async def save_facts(self, facts: Mapping[uuid.UUID, OrderFacts]) -> None:
        """Write each customer's order facts, making its facts row if none is there yet."""
        await write_fact_rows(
            self._session,
            self._tenant_id,
            {
                customer_id: {
                    "order_count": one.order_count,
                    "total_spent": one.total_spent,
                    "stats_currency": one.currency,
                    "average_order_value": one.average_order_value,
                    "order_total_max": one.order_total_max,
                    "order_total_min": one.order_total_min,
                    "first_order_at": one.first_order_at,
                    "last_order_at": one.last_order_at,
                    "last_order_month": one.last_order_month,
                    "categories": list(one.categories),
                }
                for customer_id, one in facts.items()
            },
        )


def order_facts_of(row: Row[Any]) -> OrderFacts:
    """The order facts a `customer_facts` row holds."""
    return OrderFacts(
        order_count=row.order_count,
        total_spent=row.total_spent,
        currency=row.stats_currency,
        average_order_value=row.average_order_value,
        order_total_max=row.order_total_max,
        order_total_min=row.order_total_min,
        first_order_at=row.first_order_at,
        last_order_at=row.last_order_at,
        last_order_month=row.last_order_month,
        categories=tuple(row.categories),
    )


def _refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": str(refund.refund_id),
        "amount": str(refund.amount),
        "currency": refund.currency,
        "refunded_at": refund.refunded_at.isoformat(),
        "reason": refund.reason,
    }


def order_state_of(row: Row[Any]) -> OrderState:
    """An order as stored (a row of `orders`) in the shared fold's form."""
    return OrderState(
        order_id=row.order_id,
        customer_id=row.customer_id,
        currency=row.currency,
        total=row.total,
        placed_at=row.placed_at,
        order_number=row.order_number,
        channel=row.channel,
        items=tuple(row.items),
        placed_event_id=row.placed_event_id,
        paid_at=row.paid_at,
        cancelled_at=row.cancelled_at,
        refunds=tuple(
            Refund(
                refund_id=uuid.UUID(r["refund_id"]),
                amount=Decimal(r["amount"]),
                currency=r["currency"],
                refunded_at=datetime.fromisoformat(r["refunded_at"]),
                reason=r["reason"],
            )
            for r in row.refunds
        ),
    )
