"""Customer group persistence: `customer_groups`, `customer_group_assignments`, repository.

`customers.group_id` says which group a customer is in; `customer_group_assignments` says
how it got there (`manual` or `rule`), so rules never override a hand-made choice. Default
groups carry a `key`, unique per tenant, which makes creating them idempotent
(`INSERT ... ON CONFLICT DO NOTHING`) however many requests try at once. Names are unique
per tenant, case-insensitively.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.repository import customer_from_row
from patron_profile.adapters.tables import customers, metadata
from patron_profile.domain.customer import Customer
from patron_profile.domain.group import Assignment, CustomerGroup, GroupLock, Rule, parse_rules
from patron_shared.db import base_columns
from patron_shared.errors import Conflict

NAME_INDEX = "uq_customer_groups_tenant_name"

customer_groups = Table(
    "customer_groups",
    metadata,
    *base_columns(),
    # retail, wholesale, vip for the defaults; null for a tenant's own groups.
    Column("key", String(20)),
    Column("name", String(100), nullable=False),
    Column("discount_percent", Numeric(5, 2), nullable=False, server_default=text("0")),
    Column("free_shipping", Boolean, nullable=False, server_default=text("false")),
    Column("free_shipping_threshold", Numeric(20, 4)),
    Column("minimum_order", Numeric(20, 4)),
    Column("currency", String(3)),
    Column("payment_terms", String(30), nullable=False, server_default="prepaid"),
    Column("price_list", String(100)),
    Column("auto_assign", Boolean, nullable=False, server_default=text("false")),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("rules", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    UniqueConstraint("tenant_id", "key"),
    CheckConstraint("discount_percent BETWEEN 0 AND 100", name="discount_percent"),
    CheckConstraint(
        "free_shipping_threshold IS NULL OR free_shipping_threshold >= 0",
        name="free_shipping_threshold",
    ),
    CheckConstraint("minimum_order IS NULL OR minimum_order >= 0", name="minimum_order"),
)
Index(NAME_INDEX, customer_groups.c.tenant_id, func.lower(customer_groups.c.name), unique=True)

customer_group_assignments = Table(
    "customer_group_assignments",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("group_id", Uuid, ForeignKey("customer_groups.id", ondelete="CASCADE"), nullable=False),
    Column("assigned_by", String(10), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    CheckConstraint("assigned_by IN ('manual', 'rule')", name="assigned_by"),
    Index("ix_customer_group_assignments_group", "tenant_id", "group_id"),
)

_STORED_FIELDS = (
    "name",
    "discount_percent",
    "free_shipping",
    "free_shipping_threshold",
    "minimum_order",
    "currency",
    "payment_terms",
    "price_list",
    "auto_assign",
    "priority",
    "updated_at",
)


class SqlGroupRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def ensure_defaults(self, groups: Sequence[CustomerGroup]) -> None:
        """Insert the default groups a tenant lacks; concurrent callers insert them once."""
        rows = [_row(g) | {"key": g.key} for g in groups]
        await self._session.execute(
            pg_insert(customer_groups).values(rows).on_conflict_do_nothing()
        )

    async def list_page(
        self, *, offset: int, limit: int
    ) -> tuple[list[tuple[CustomerGroup, int]], int]:
        """Groups with their live customers, oldest first (the defaults lead)."""
        g = customer_groups.c
        members = (
            select(customers.c.group_id, func.count().label("n"))
            .where(
                customers.c.tenant_id == self._tenant_id,
                customers.c.deleted_at.is_(None),
                customers.c.group_id.is_not(None),
            )
            .group_by(customers.c.group_id)
            .subquery()
        )
        total = await self._session.scalar(
            select(func.count()).select_from(customer_groups).where(g.tenant_id == self._tenant_id)
        )
        rows = await self._session.execute(
            select(customer_groups, func.coalesce(members.c.n, 0).label("customer_count"))
            .outerjoin(members, members.c.group_id == g.id)
            .where(g.tenant_id == self._tenant_id)
            .order_by(g.created_at, func.lower(g.name), g.id)
            .offset(offset)
            .limit(limit)
        )
        return [(_to_group(row), int(row.customer_count)) for row in rows], int(total or 0)

    async def get(
        self, group_id: uuid.UUID, *, lock: GroupLock | None = None
    ) -> CustomerGroup | None:
        query = select(customer_groups).where(*self._group(group_id))
        if lock is not None:
            query = query.with_for_update(read=lock == "share")
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_group(row)

    async def member_count(self, group_id: uuid.UUID) -> int:
        count = await self._session.scalar(
            select(func.count()).where(*self._live_customers(), customers.c.group_id == group_id)
        )
        return int(count or 0)

    async def add(self, group: CustomerGroup) -> None:
        values = _row(group) | {"key": group.key}
        await self._write(customer_groups.insert().values(**values), group)

    async def save(self, group: CustomerGroup) -> None:
        values = _row(group)
        del values["id"], values["tenant_id"], values["created_at"]
        await self._write(
            update(customer_groups).where(*self._group(group.id)).values(**values), group
        )

    async def delete(self, group_id: uuid.UUID) -> None:
        await self._session.execute(delete(customer_groups).where(*self._group(group_id)))

    async def auto_groups(self, *, lock: bool) -> list[CustomerGroup]:
        """The groups that assign customers by rule; `lock`: hold them (FOR SHARE) so none
        is changed or deleted before this transaction ends."""
        query = select(customer_groups).where(
            customer_groups.c.tenant_id == self._tenant_id, customer_groups.c.auto_assign
        )
        if lock:
            query = query.order_by(customer_groups.c.id).with_for_update(read=True)
        return [_to_group(row) for row in await self._session.execute(query)]

    async def assignment_of(self, customer_id: uuid.UUID) -> Assignment | None:
        a = customer_group_assignments.c
        row = (
            await self._session.execute(
                select(a.group_id, a.assigned_by).where(
                    a.tenant_id == self._tenant_id, a.customer_id == customer_id
                )
            )
        ).first()
        return None if row is None else Assignment(row.group_id, row.assigned_by)

    async def record_assignments(self, changes: Mapping[uuid.UUID, Assignment | None]) -> None:
        """Upsert the given assignments; None removes a customer's."""
        a = customer_group_assignments
        kept = [
            {
                "tenant_id": self._tenant_id,
                "customer_id": customer_id,
                "group_id": assignment.group_id,
                "assigned_by": assignment.assigned_by,
            }
            for customer_id, assignment in changes.items()
            if assignment is not None
        ]
        gone = [customer_id for customer_id, assignment in changes.items() if assignment is None]
        if kept:
            statement = pg_insert(a).values(kept)
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=[a.c.tenant_id, a.c.customer_id],
                    set_={
                        "group_id": statement.excluded.group_id,
                        "assigned_by": statement.excluded.assigned_by,
                        "assigned_at": func.now(),
                    },
                )
            )
        if gone:
            await self._session.execute(
                delete(a).where(a.c.tenant_id == self._tenant_id, a.c.customer_id.in_(gone))
            )

    async def lock_customers(self, ids: Sequence[uuid.UUID]) -> list[Customer]:
        """The live customers among `ids`, locked oldest first."""
        rows = await self._session.execute(
            select(customers)
            .where(*self._live_customers(), customers.c.id.in_(list(ids)))
            .order_by(*_CUSTOMER_ORDER)
            .with_for_update()
        )
        return [customer_from_row(row) for row in rows]

    async def lock_members(self, group_id: uuid.UUID) -> list[Customer]:
        rows = await self._session.execute(
            select(customers)
            .where(*self._live_customers(), customers.c.group_id == group_id)
            .order_by(*_CUSTOMER_ORDER)
            .with_for_update()
        )
        return [customer_from_row(row) for row in rows]

    async def lock_rule_candidates(
        self, *, after: Customer | None, limit: int, unassigned: bool
    ) -> list[tuple[Customer, Assignment | None]]:
        """One keyset batch of the customers rules may move, the next after `after`: in a
        group by rule, and (with `unassigned`) in no group. Locked, oldest first."""
        a = customer_group_assignments.c
        c = customers.c
        by_rule = and_(a.assigned_by == "rule", a.group_id == c.group_id)
        conditions = [
            *self._live_customers(),
            or_(by_rule, c.group_id.is_(None)) if unassigned else by_rule,
        ]
        if after is not None:
            key = tuple_(c.created_at, c.id)
            conditions.append(key > tuple_(literal(after.created_at), literal(after.id)))
        rows = await self._session.execute(
            select(
                customers, a.group_id.label("assigned_group_id"), a.assigned_by.label("assigned_by")
            )
            .select_from(
                customers.outerjoin(
                    customer_group_assignments,
                    and_(a.tenant_id == c.tenant_id, a.customer_id == c.id),
                )
            )
            .where(*conditions)
            .order_by(*_CUSTOMER_ORDER)
            .limit(limit)
            .with_for_update(of=customers)
        )
        return [
            (
                customer_from_row(row),
                None
                if row.assigned_group_id is None
                else Assignment(row.assigned_group_id, row.assigned_by),
            )
            for row in rows
        ]

    def _group(self, group_id: uuid.UUID) -> list[Any]:
        return [customer_groups.c.tenant_id == self._tenant_id, customer_groups.c.id == group_id]

    def _live_customers(self) -> list[Any]:
        return [customers.c.tenant_id == self._tenant_id, customers.c.deleted_at.is_(None)]

    async def _write(self, statement: Any, group: CustomerGroup) -> None:
        # No savepoint: a violation aborts the unit of work, which rolls back as a whole.
        try:
            await self._session.execute(statement)
        except IntegrityError as error:
            if NAME_INDEX in str(error.orig):
                raise Conflict(
                    f"a customer group named {group.name!r} already exists", field="name"
                ) from None
            raise


# Every statement that locks several customers locks them in this order (the keyset order of
# the re-evaluation batches, served by ix_customers_tenant_created), so none deadlock.
_CUSTOMER_ORDER = (customers.c.created_at, customers.c.id)


def _row(group: CustomerGroup) -> dict[str, Any]:
    values = {name: getattr(group, name) for name in _STORED_FIELDS}
    return values | {
        "id": group.id,
        "tenant_id": group.tenant_id,
        "created_at": group.created_at,
        "rules": [rule.to_json() for rule in group.rules],
    }


def _rules(stored: list[dict[str, Any]]) -> tuple[Rule, ...]:
    return parse_rules(stored)


def _to_group(row: Row[Any]) -> CustomerGroup:
    return CustomerGroup(
        id=row.id,
        tenant_id=row.tenant_id,
        key=row.key,
        name=row.name,
        discount_percent=Decimal(row.discount_percent),
        free_shipping=row.free_shipping,
        free_shipping_threshold=row.free_shipping_threshold,
        minimum_order=row.minimum_order,
        currency=row.currency,
        payment_terms=row.payment_terms,
        price_list=row.price_list,
        auto_assign=row.auto_assign,
        priority=row.priority,
        rules=_rules(row.rules),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
