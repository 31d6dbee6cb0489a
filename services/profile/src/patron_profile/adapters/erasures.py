"""GDPR erasure persistence: the erasures and their acknowledgements (migration 0012), and
the statements that erase or anonymize one customer's data in the profile's tables."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.addresses import addresses
from patron_profile.adapters.consents import consent_entries, consents
from patron_profile.adapters.merges import customer_merges
from patron_profile.adapters.notes import customer_metadata, customer_notes
from patron_profile.adapters.tables import customers, metadata, order_refunds, orders
from patron_profile.adapters.timeline import timeline_entries
from patron_profile.domain.erasure import Erasure, PersonalValues
from patron_shared.db.erasure import REDACTED
from patron_shared.db.erasure import personal_values as searchable
from patron_shared.events.customer import ErasureMode

customer_erasures = Table(
    "customer_erasures",
    metadata,
    Column("erasure_id", Uuid, nullable=False),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("mode", String(20), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("requested_by", String(200)),
    PrimaryKeyConstraint("erasure_id"),
    Index("ix_customer_erasures_customer", "tenant_id", "customer_id", "requested_at"),
)

erasure_acknowledgements = Table(
    "erasure_acknowledgements",
    metadata,
    Column("erasure_id", Uuid, nullable=False),
    Column("tenant_id", String(63), nullable=False),
    Column("service", String(63), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("erasure_id", "service"),
)


class SqlErasureRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def personal_values(self, customer_id: uuid.UUID) -> PersonalValues | None:
        """The customer's email, phones, address lines and names (its own and its
        addresses'), the row locked; None when there is no row (never created, or erased
        for good)."""
        found = await self._personal_data(customer_id)
        return None if found is None else found.personal

    async def _personal_data(self, customer_id: uuid.UUID) -> _PersonalData | None:
        row = (
            await self._session.execute(
                select(
                    customers.c.email,
                    customers.c.phone,
                    customers.c.first_name,
                    customers.c.last_name,
                )
                .where(customers.c.tenant_id == self._tenant_id, customers.c.id == customer_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        identifiers = [value for value in (row.email, row.phone) if value]
        names: list[tuple[str | None, str | None]] = [(row.first_name, row.last_name)]
        contacts = list(identifiers)
        for address in await self._session.execute(
            select(
                addresses.c.first_name,
                addresses.c.last_name,
                addresses.c.phone,
                addresses.c.address1,
            ).where(
                addresses.c.tenant_id == self._tenant_id, addresses.c.customer_id == customer_id
            )
        ):
            identifiers += [value for value in (address.phone, address.address1) if value]
            names.append((address.first_name, address.last_name))
            contacts += [address.phone] if address.phone else []
        return _PersonalData(
            personal=PersonalValues(
                identifiers=tuple(identifiers),
                names=tuple((first, last) for first, last in names if first or last),
            ),
            contacts=frozenset(v.lower() for v in contacts),
        )

    async def erase_customer(
        self, customer_id: uuid.UUID, mode: ErasureMode, now: datetime
    ) -> None:
        """The customer's personal data out of every profile table. `hard`: every row about
        it goes, orders included. `anonymize`: the customer row stays as an anonymous,
        deleted record with its order statistics, and its orders keep their amounts."""
        tenant = self._tenant_id
        personal = await self._personal_data(customer_id)
        if personal is not None:
            await self._scrub_imports(personal)
        of_customer = (customer_merges.c.primary_id == customer_id) | (
            customer_merges.c.secondary_id == customer_id
        )
        # Merge records keep copies of the values a merge moved.
        await self._session.execute(
            delete(customer_merges).where(customer_merges.c.tenant_id == tenant, of_customer)
        )
        # The timeline's summaries quote notes, consents and messages; the audit log keeps
        # field names only, and stays (who did what to the record is kept).
        for table in (addresses, customer_notes, customer_metadata, timeline_entries):
            await self._session.execute(
                delete(table).where(table.c.tenant_id == tenant, table.c.customer_id == customer_id)
            )
        customer_orders = select(orders.c.order_id).where(
            orders.c.tenant_id == tenant, orders.c.customer_id == customer_id
        )
        if mode == "hard":
            await self._session.execute(
                delete(order_refunds).where(
                    order_refunds.c.tenant_id == tenant,
                    order_refunds.c.order_id.in_(customer_orders),
                )
            )
            await self._session.execute(
                delete(orders).where(
                    orders.c.tenant_id == tenant, orders.c.customer_id == customer_id
                )
            )
            # Consents and their history go with the row (ON DELETE CASCADE).
            await self._session.execute(
                delete(customers).where(
                    customers.c.tenant_id == tenant, customers.c.id == customer_id
                )
            )
            return
        await self._session.execute(
            update(order_refunds)
            .where(
                order_refunds.c.tenant_id == tenant, order_refunds.c.order_id.in_(customer_orders)
            )
            .values(reason=None)
        )
        await self._session.execute(
            update(consent_entries)
            .where(
                consent_entries.c.tenant_id == tenant,
                consent_entries.c.customer_id == customer_id,
                or_(
                    consent_entries.c.ip_address.is_not(None),
                    consent_entries.c.user_agent.is_not(None),
                ),
            )
            .values(ip_address=None, user_agent=None)
        )
        await self._session.execute(
            update(consents)
            .where(consents.c.tenant_id == tenant, consents.c.customer_id == customer_id)
            .values(recorded_by=None)
        )
        await self._session.execute(
            update(customers)
            .where(customers.c.tenant_id == tenant, customers.c.id == customer_id)
            .values(
                email=None,
                phone=None,
                first_name=None,
                last_name=None,
                notes=None,
                tags=literal([], type_=customers.c.tags.type),
                external_ids=text("'{}'::jsonb"),
                preferences=text("'{}'::jsonb"),
                date_of_birth=None,
                gender=None,
                accepts_marketing=False,
                status="disabled",
                deleted_at=func.coalesce(customers.c.deleted_at, now),
                updated_at=now,
            )
        )

    async def _scrub_imports(self, personal: _PersonalData) -> None:
        """The customer's values out of the import jobs' previews and error reports: its
        own preview rows keep their row number, action and field names, every value
        erased; quotes of its values in error messages (and of its email or phone in other
        rows' fields) become `REDACTED`. Other customers' rows are left as they are."""
        # adapters.imports imports the unit of work, which imports this module: a top-level
        # import would be circular.
        from patron_profile.adapters.imports import import_errors, imports  # noqa: PLC0415

        wanted = searchable(*personal.values)
        if not wanted:
            return
        tenant = self._tenant_id
        preview_text = func.lower(cast(imports.c.preview, Text))
        jobs = await self._session.execute(
            select(imports.c.id, imports.c.preview)
            .where(
                imports.c.tenant_id == tenant,
                or_(*(preview_text.contains(v.lower(), autoescape=True) for v in wanted)),
            )
            .with_for_update()
        )
        for job_id, preview in jobs.all():
            clean = [_scrubbed_preview_row(row, personal.contacts, wanted) for row in preview]
            if clean != preview:
                await self._session.execute(
                    update(imports)
                    .where(imports.c.tenant_id == tenant, imports.c.id == job_id)
                    .values(preview=clean)
                )
        e = import_errors.c
        quoting = await self._session.execute(
            select(e.import_id, e.row_number, e.field, e.message)
            .where(
                e.tenant_id == tenant,
                or_(*(func.lower(e.message).contains(v.lower(), autoescape=True) for v in wanted)),
            )
            .with_for_update()
        )
        redacted = [
            {
                "b_import_id": row.import_id,
                "b_row_number": row.row_number,
                "b_field": row.field,
                "b_message": _redact_quotes(row.message, wanted),
            }
            for row in quoting
        ]
        if redacted:
            await self._session.execute(
                update(import_errors)
                .where(
                    e.tenant_id == tenant,
                    e.import_id == bindparam("b_import_id"),
                    e.row_number == bindparam("b_row_number"),
                    e.field == bindparam("b_field"),
                )
                .values(message=bindparam("b_message")),
                redacted,
            )

    async def add(self, erasure: Erasure) -> None:
        await self._session.execute(
            customer_erasures.insert().values(
                erasure_id=erasure.erasure_id,
                tenant_id=self._tenant_id,
                customer_id=erasure.customer_id,
                mode=erasure.mode,
                requested_at=erasure.requested_at,
                requested_by=erasure.requested_by,
            )
        )

    async def acknowledge(
        self, erasure_id: uuid.UUID, service: str, completed_at: datetime
    ) -> None:
        """Record `service`'s acknowledgement (the first one counts; repeats change nothing)."""
        await self._session.execute(
            pg_insert(erasure_acknowledgements)
            .values(
                erasure_id=erasure_id,
                tenant_id=self._tenant_id,
                service=service,
                completed_at=completed_at,
            )
            .on_conflict_do_nothing(index_elements=["erasure_id", "service"])
        )

    async def latest(self, customer_id: uuid.UUID) -> Erasure | None:
        """The customer's most recent erasure, with the acknowledgements it has."""
        row = (
            await self._session.execute(
                select(customer_erasures)
                .where(
                    customer_erasures.c.tenant_id == self._tenant_id,
                    customer_erasures.c.customer_id == customer_id,
                )
                .order_by(customer_erasures.c.requested_at.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        acks = await self._session.execute(
            select(
                erasure_acknowledgements.c.service, erasure_acknowledgements.c.completed_at
            ).where(
                erasure_acknowledgements.c.tenant_id == self._tenant_id,
                erasure_acknowledgements.c.erasure_id == row.erasure_id,
            )
        )
        return Erasure(
            erasure_id=row.erasure_id,
            customer_id=row.customer_id,
            mode=row.mode,
            requested_at=row.requested_at,
            requested_by=row.requested_by,
            acknowledged={service: at for service, at in acks},
        )


@dataclass(frozen=True)
class _PersonalData:
    personal: PersonalValues  # email, phones, address lines, names: what an erasure looks for
    contacts: frozenset[str]  # its email and phones, lower-cased: what identifies it

    @property
    def values(self) -> list[str]:
        return self.personal.values


def _redact_quotes(text: str, values: Sequence[str]) -> str:
    """`text` with every occurrence of `values` (case-insensitively) replaced by `REDACTED`;
    the longest first, so that an email goes whole rather than around a name inside it."""
    for value in sorted(values, key=len, reverse=True):
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    return text


def _scrubbed_preview_row(
    row: dict[str, Any], contacts: Iterable[str], values: Sequence[str]
) -> dict[str, Any]:
    """A preview row (`{"row", "action", "fields"}` or `{"row", "action", "errors"}`) without
    the customer's values. A row whose email or phone is the customer's is theirs: every
    field value goes. Another customer's row loses only quotes of the customer's email or
    phone (a shared first name is not the erased customer's data)."""
    mine = set(contacts)
    fields = row.get("fields")
    if isinstance(fields, dict):
        own = {str(fields.get(name) or "").lower() for name in ("email", "phone")} & mine
        if own:
            return row | {"fields": dict.fromkeys(fields, REDACTED)}
        quoted = [value for value in values if value.lower() in mine]
        return row | {
            "fields": {
                name: _redact_quotes(value, quoted) if isinstance(value, str) else value
                for name, value in fields.items()
            }
        }
    errors = row.get("errors")
    if isinstance(errors, list):
        return row | {
            "errors": [
                error | {"message": _redact_quotes(str(error.get("message", "")), values)}
                if isinstance(error, dict)
                else error
                for error in errors
            ]
        }
    return row
