"""Order persistence: a customer's orders, their refunds, and the statistics over them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import order_refunds, orders
from patron_shared.orders import (
    OrderRecord,
    OrderState,
    OrderStats,
    OrderStatus,
    Refund,
)


class SqlOrderRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def lock(self, order_id: str, *, customer_id: uuid.UUID) -> OrderState:
        """The order, row-locked until the transaction ends; created pending when unknown.

        Creating the row first means two transactions racing on a new order serialise on
        it like on a known one.
        """
        created = await self._session.execute(
            pg_insert(orders)
            .values(
                tenant_id=self._tenant_id,
                order_id=order_id,
                customer_id=customer_id,
                status="pending",
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "order_id"])
            .returning(orders.c.order_id)
        )
        if created.first() is not None:
            return OrderState(order_id=order_id, customer_id=customer_id)
        row = (
            await self._session.execute(
                select(orders).where(self._order(order_id)).with_for_update()
            )
        ).one()
        refunds = await self._session.execute(
            select(order_refunds)
            .where(
                order_refunds.c.tenant_id == self._tenant_id,
                order_refunds.c.order_id == order_id,
            )
            .order_by(order_refunds.c.refund_id)
        )
        return _to_state(row, [_to_refund(r) for r in refunds])

    async def save(self, order: OrderState) -> None:
        """Write the order as it now is (the row exists: `lock` created it)."""
        await self._session.execute(
            update(orders)
            .where(self._order(order.order_id))
            .values(
                customer_id=order.customer_id,
                status=order.status,
                currency=order.currency,
                total=order.total,
                placed_at=order.placed_at,
                order_number=order.order_number,
                channel=order.channel,
                items=list(order.items),
                event_id=order.placed_event_id,
                paid_at=order.paid_at,
                cancelled_at=order.cancelled_at,
                refunded_amount=order.refunded_amount,
            )
        )
        if order.refunds:
            await self._session.execute(
                pg_insert(order_refunds)
                .values(
                    [
                        {
                            "tenant_id": self._tenant_id,
                            "order_id": order.order_id,
                            "refund_id": r.refund_id,
                            "amount": r.amount,
                            "currency": r.currency,
                            "refunded_at": r.refunded_at,
                            "reason": r.reason,
                        }
                        for r in order.refunds
                    ]
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", "order_id", "refund_id"])
            )

    async def stats_for(self, customer_id: uuid.UUID) -> OrderStats:
        """`OrderStats.from_orders` over the customer's stored orders, in one query."""
        o, first = orders.c, orders.alias("first_order").c
        counted = self._counted(o, customer_id)
        # The statistics currency: the earliest counted order's (ties: the lower order id).
        currency = (
            select(first.currency)
            .where(self._counted(first, customer_id))
            .order_by(first.placed_at, first.order_id.collate("C"))
            .limit(1)
            .scalar_subquery()
        )
        priced = o.currency == currency
        row = (
            await self._session.execute(
                select(
                    func.count().label("total_orders"),
                    func.count().filter(priced).label("priced_orders"),
                    func.sum(o.total - o.refunded_amount).filter(priced).label("total_spent"),
                    currency.label("currency"),
                    func.min(o.placed_at).label("first_order_at"),
                    func.max(o.placed_at).label("last_order_at"),
                ).where(counted)
            )
        ).one()
        if not row.total_orders:
            return OrderStats()
        return OrderStats(
            total_orders=row.total_orders,
            total_spent=Decimal(row.total_spent or 0),
            currency=row.currency,
            first_order_at=row.first_order_at,
            last_order_at=row.last_order_at,
            priced_orders=row.priced_orders,
        )

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[OrderRecord], int]:
        """A page of the customer's purchase history, newest first, and its total size."""
        conditions = (
            orders.c.tenant_id == self._tenant_id,
            orders.c.customer_id == customer_id,
            orders.c.placed_at.is_not(None),
        )
        total = await self._session.scalar(
            select(func.count()).select_from(orders).where(*conditions)
        )
        rows = await self._session.execute(
            select(orders)
            .where(*conditions)
            .order_by(orders.c.placed_at.desc(), orders.c.order_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_to_record(row) for row in rows], int(total or 0)

    def _counted(self, o: Any, customer_id: uuid.UUID) -> Any:
        """The customer's orders that count: placed and not cancelled."""
        return and_(
            o.tenant_id == self._tenant_id,
            o.customer_id == customer_id,
            o.placed_at.is_not(None),
            o.cancelled_at.is_(None),
        )

    def _order(self, order_id: str) -> Any:
        return and_(orders.c.tenant_id == self._tenant_id, orders.c.order_id == order_id)


def _to_refund(row: Row[Any]) -> Refund:
    return Refund(
        refund_id=row.refund_id,
        amount=Decimal(row.amount),
        currency=row.currency,
        refunded_at=row.refunded_at,
        reason=row.reason,
    )


def _to_state(row: Row[Any], refunds: list[Refund]) -> OrderState:
    return OrderState(
        order_id=row.order_id,
        customer_id=row.customer_id,
        currency=row.currency,
        total=None if row.total is None else Decimal(row.total),
        placed_at=row.placed_at,
        order_number=row.order_number,
        channel=row.channel,
        items=tuple(row.items),
        placed_event_id=row.event_id,
        paid_at=row.paid_at,
        cancelled_at=row.cancelled_at,
        refunds=tuple(refunds),
    )


def _to_record(row: Row[Any]) -> OrderRecord:
    return OrderRecord(
        order_id=row.order_id,
        customer_id=row.customer_id,
        order_number=row.order_number,
        status=cast(OrderStatus, row.status),
        currency=row.currency,
        total=Decimal(row.total),
        refunded_amount=Decimal(row.refunded_amount),
        items=tuple(row.items),
        channel=row.channel,
        placed_at=row.placed_at,
        paid_at=row.paid_at,
        cancelled_at=row.cancelled_at,
    )
