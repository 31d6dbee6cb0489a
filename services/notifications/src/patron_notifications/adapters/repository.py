"""Contact persistence: the customer snapshot, and what order, consent and loyalty events
add to it. Each of those writes only its own columns, in one statement that inserts the
contact if it is not there yet, so consumers of different topics never undo each other."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from patron_notifications.adapters.tables import contacts
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.contact import UNKNOWN_SINCE, Contact, LastOrder

# What the customer snapshot (customer events) writes.
_SNAPSHOT_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "locale",
    "accepts_marketing",
    "source_updated_at",
    "deleted_at",
)
# What other events and the preference centre keep; read with the rest.
_PROJECTED_FIELDS = (
    "email_consent_at",
    "sms_marketing",
    "email_unsubscribed",
    "sms_unsubscribed",
    "time_zone",
    "preferences_updated_at",
    "points",
    "tier",
    "merged_into",
)


class SqlContactRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None:
        query = select(contacts).where(
            contacts.c.tenant_id == self._tenant_id, contacts.c.customer_id == customer_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_contact(row)

    async def get_many(self, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        wanted = list(set(customer_ids))
        if not wanted:
            return {}
        rows = await self._session.execute(
            select(contacts).where(
                contacts.c.tenant_id == self._tenant_id, contacts.c.customer_id.in_(wanted)
            )
        )
        return {row.customer_id: _to_contact(row) for row in rows}

    async def save(self, contact: Contact) -> None:
        """Insert or update the snapshot's fields; a write older than the stored row never
        replaces it, and the email marketing flag yields to a newer consent event."""
        values = {name: getattr(contact, name) for name in _SNAPSHOT_FIELDS}
        insert = pg_insert(contacts).values(
            tenant_id=self._tenant_id, customer_id=contact.customer_id, **values
        )
        consent_is_older = or_(
            contacts.c.email_consent_at.is_(None),
            contacts.c.email_consent_at <= insert.excluded.source_updated_at,
        )
        marketing = case(
            (consent_is_older, insert.excluded.accepts_marketing),
            else_=contacts.c.accepts_marketing,
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id"],
                set_=values | {"accepts_marketing": marketing, "updated_at": func.now()},
                where=contacts.c.source_updated_at <= insert.excluded.source_updated_at,
            )
        )

    async def note_order(
        self,
        customer_id: uuid.UUID,
        *,
        order_id: str,
        total: Decimal,
        currency: str,
        placed_at: datetime,
    ) -> None:
        """Keep the customer's most recently placed order (by placing time, then id)."""
        values = {
            "last_order_id": order_id,
            "last_order_total": total,
            "last_order_currency": currency,
            "last_order_placed_at": placed_at,
        }
        stored, given = contacts.c, pg_insert(contacts).excluded
        newer = or_(
            stored.last_order_placed_at.is_(None),
            stored.last_order_placed_at < given.last_order_placed_at,
            (stored.last_order_placed_at == given.last_order_placed_at)
            & (stored.last_order_id < given.last_order_id),
        )
        await self._upsert(customer_id, values, newer)

    async def note_points(self, customer_id: uuid.UUID, *, balance: int, at: datetime) -> None:
        """The balance after the newest ledger change seen (events carry the balance)."""
        stored, given = contacts.c, pg_insert(contacts).excluded
        newer = or_(stored.points_at.is_(None), stored.points_at <= given.points_at)
        await self._upsert(customer_id, {"points": balance, "points_at": at}, newer)

    async def note_tier(self, customer_id: uuid.UUID, *, tier: str, at: datetime) -> None:
        stored, given = contacts.c, pg_insert(contacts).excluded
        newer = or_(stored.tier_at.is_(None), stored.tier_at <= given.tier_at)
        await self._upsert(customer_id, {"tier": tier, "tier_at": at}, newer)

    async def note_marketing_consent(
        self, customer_id: uuid.UUID, channel: Channel, *, granted: bool, at: datetime
    ) -> None:
        """A marketing consent change on `channel`, unless a newer one was applied."""
        flag, stamp = (
            ("accepts_marketing", "email_consent_at")
            if channel == "email"
            else ("sms_marketing", "sms_consent_at")
        )
        stored, given = contacts.c[stamp], pg_insert(contacts).excluded[stamp]
        newer = or_(stored.is_(None), stored <= given)
        if channel == "email":
            # the snapshot that set the flag may be newer than this change
            newer = newer & (contacts.c.source_updated_at <= given)
        await self._upsert(customer_id, {flag: granted, stamp: at}, newer)

    async def note_preferences(
        self,
        customer_id: uuid.UUID,
        *,
        at: datetime,
        email_unsubscribed: bool | None = None,
        sms_unsubscribed: bool | None = None,
        time_zone: str | None = None,
        clear_time_zone: bool = False,
    ) -> None:
        """Stamp a change the customer (or the merchant for them) made in the preference
        centre, with the unsubscribes and time zone given (None: left as they are)."""
        values: dict[str, Any] = {"preferences_updated_at": at}
        if email_unsubscribed is not None:
            values["email_unsubscribed"] = email_unsubscribed
        if sms_unsubscribed is not None:
            values["sms_unsubscribed"] = sms_unsubscribed
        if time_zone is not None or clear_time_zone:
            values["time_zone"] = time_zone
        stored, given = contacts.c, pg_insert(contacts).excluded
        newer = or_(
            stored.preferences_updated_at.is_(None),
            stored.preferences_updated_at <= given.preferences_updated_at,
        )
        await self._upsert(customer_id, values, newer)

    async def _upsert(
        self, customer_id: uuid.UUID, values: dict[str, Any], newer: ColumnElement[bool]
    ) -> None:
        insert = pg_insert(contacts).values(
            tenant_id=self._tenant_id,
            customer_id=customer_id,
            source_updated_at=UNKNOWN_SINCE,
            **values,
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id"],
                set_={name: insert.excluded[name] for name in values} | {"updated_at": func.now()},
                where=newer,
            )
        )

    async def list_page(self, *, offset: int, limit: int) -> tuple[list[Contact], int]:
        conditions = [
            contacts.c.tenant_id == self._tenant_id,
            contacts.c.deleted_at.is_(None),
            contacts.c.source_updated_at > UNKNOWN_SINCE,
        ]
        total = await self._session.scalar(select(func.count()).where(*conditions))
        rows = await self._session.execute(
            select(contacts)
            .where(*conditions)
            .order_by(contacts.c.created_at.desc(), contacts.c.customer_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_to_contact(row) for row in rows], int(total or 0)

    async def born_on(
        self, month: int, days: Sequence[int], *, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        """Customers (still there, not merged away) born on `month` and one of `days`, in
        customer-id order after `after`: one keyset page (index ix_contacts_tenant_birthday)."""
        query = (
            select(contacts.c.customer_id)
            .where(
                contacts.c.tenant_id == self._tenant_id,
                contacts.c.date_of_birth.is_not(None),
                contacts.c.deleted_at.is_(None),
                contacts.c.merged_into.is_(None),
                func.extract("month", contacts.c.date_of_birth) == month,
                func.extract("day", contacts.c.date_of_birth).in_(list(days)),
            )
            .order_by(contacts.c.customer_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(contacts.c.customer_id > after)
        return list((await self._session.scalars(query)).all())


async def notifications_tenants(engine: AsyncEngine) -> list[str]:
    """Every tenant with contacts (through the function migration 0006 made)."""
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT notifications_tenants()"))
        return sorted(tenant for (tenant,) in rows)


def _to_contact(row: Row[Any]) -> Contact:
    last_order = (
        None
        if row.last_order_id is None
        else LastOrder(
            order_id=row.last_order_id,
            total=row.last_order_total,
            currency=row.last_order_currency,
            placed_at=row.last_order_placed_at,
        )
    )
    return Contact(
        customer_id=row.customer_id,
        last_order=last_order,
        **{name: getattr(row, name) for name in _SNAPSHOT_FIELDS + _PROJECTED_FIELDS},
    )
