"""Address persistence: the `addresses` table and its repository.

Deleting an address deletes its row (no soft delete): an address is PII with no history
worth keeping here, and the `AddressChanged` event records that it went. The partial unique
index `uq_addresses_default_per_type` lets each customer have at most one default address per
type; the address book orders its writes so that it holds after every statement.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Row,
    String,
    Table,
    Uuid,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import metadata
from patron_profile.domain.address import EDITABLE_FIELDS, Address, AddressBook, AddressWrite
from patron_shared.db import base_columns
from patron_shared.errors import Conflict

DEFAULT_INDEX = "uq_addresses_default_per_type"

addresses = Table(
    "addresses",
    metadata,
    *base_columns(),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("company", String(255)),
    Column("address1", String(255), nullable=False),
    Column("address2", String(255)),
    Column("city", String(120)),
    Column("state", String(120)),
    Column("pincode", String(20)),
    Column("country", String(2), nullable=False),
    Column("phone", String(32)),
    CheckConstraint("type IN ('billing', 'shipping')", name="type"),
    CheckConstraint("country ~ '^[A-Z]{2}$'", name="country"),
    Index(
        DEFAULT_INDEX,
        "tenant_id",
        "customer_id",
        "type",
        unique=True,
        postgresql_where=text("is_default"),
    ),
    Index("ix_addresses_tenant_customer", "tenant_id", "customer_id", "created_at"),
)

_STORED_FIELDS = (*EDITABLE_FIELDS, "is_default", "updated_at")


class SqlAddressRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def list_for_customer(self, customer_id: uuid.UUID) -> list[Address]:
        """All of a customer's addresses, newest first (the caller checks the customer)."""
        rows = await self._session.execute(
            select(addresses).where(*self._of(customer_id)).order_by(*_NEWEST_FIRST)
        )
        return [_to_address(row) for row in rows]

    async def list_page(
        self, customer_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[Address], int]:
        conditions = self._of(customer_id)
        total = await self._session.scalar(select(func.count()).where(*conditions))
        rows = await self._session.execute(
            select(addresses)
            .where(*conditions)
            .order_by(*_NEWEST_FIRST)
            .offset(offset)
            .limit(limit)
        )
        return [_to_address(row) for row in rows], int(total or 0)

    async def get_book(self, customer_id: uuid.UUID) -> AddressBook:
        return AddressBook(customer_id, await self.list_for_customer(customer_id))

    async def save_book(self, book: AddressBook) -> None:
        # No savepoint: a violation aborts the unit of work, which rolls back as a whole.
        try:
            for write in book.writes():
                await self._session.execute(self._statement(write))
        except IntegrityError as error:
            if DEFAULT_INDEX in str(error.orig):
                raise Conflict(
                    "the customer's default address changed at the same time; try again"
                ) from None
            raise

    def _statement(self, write: AddressWrite) -> Any:
        address = write.address
        if write.kind == "insert":
            return insert(addresses).values(
                id=address.id,
                tenant_id=self._tenant_id,
                customer_id=address.customer_id,
                created_at=address.created_at,
                **_values(address),
            )
        where = (
            *self._of(address.customer_id),
            addresses.c.id == address.id,
        )
        if write.kind == "delete":
            return delete(addresses).where(*where)
        return update(addresses).where(*where).values(**_values(address))

    def _of(self, customer_id: uuid.UUID) -> list[Any]:
        return [addresses.c.tenant_id == self._tenant_id, addresses.c.customer_id == customer_id]


_NEWEST_FIRST = (addresses.c.created_at.desc(), addresses.c.id.desc())


def _values(address: Address) -> dict[str, Any]:
    return {name: getattr(address, name) for name in _STORED_FIELDS}


def _to_address(row: Row[Any]) -> Address:
    return Address(
        id=row.id,
        tenant_id=row.tenant_id,
        customer_id=row.customer_id,
        type=row.type,
        is_default=row.is_default,
        first_name=row.first_name,
        last_name=row.last_name,
        company=row.company,
        address1=row.address1,
        address2=row.address2,
        city=row.city,
        state=row.state,
        pincode=row.pincode,
        country=row.country,
        phone=row.phone,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
