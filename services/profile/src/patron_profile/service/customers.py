"""Customer use cases: one function per command, each one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from patron_profile.domain.address import Address
from patron_profile.domain.consent import PROFILE_API_SOURCE
from patron_profile.domain.contact import (
    clean_name,
    normalize_email,
    normalize_phone,
    normalize_tags,
)
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import (
    CURSOR_SORT_FIELDS,
    Cursor,
    CustomerFilters,
    CustomerSort,
)
from patron_profile.domain.metadata import MetadataEntry
from patron_profile.service.consents import follow_accepts_marketing
from patron_profile.service.groups import sync_customer_group
from patron_profile.service.orders import count_uncounted_orders
from patron_profile.service.ports import (
    ConsentUnitOfWork,
    CustomerLookupUnitOfWork,
    CustomerUnitOfWork,
    CustomerViewUnitOfWork,
)
from patron_profile.service.tombstones import missing_customer
from patron_shared.errors import InvalidInput
from patron_shared.events import utcnow
from patron_shared.orders import OrderRecord

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ContactRules:
    phone_default_region: str = "US"


def normalize_fields(values: dict[str, Any], rules: ContactRules) -> dict[str, Any]:
    """Canonical forms of what the caller sent; explicit nulls stay nulls (they clear)."""
    clean = dict(values)
    if clean.get("email") is not None:
        clean["email"] = normalize_email(clean["email"])
    if clean.get("phone") is not None:
        clean["phone"] = normalize_phone(clean["phone"], default_region=rules.phone_default_region)
    for name in ("first_name", "last_name"):
        if name in clean:
            clean[name] = clean_name(clean[name])
    if clean.get("tags") is not None:
        clean["tags"] = normalize_tags(clean["tags"])
    elif "tags" in clean:
        clean["tags"] = []
    if "external_ids" in clean and clean["external_ids"] is None:
        clean["external_ids"] = {}
    return clean


async def create_customer(
    uow: ConsentUnitOfWork,
    values: dict[str, Any],
    *,
    rules: ContactRules,
    customer_id: uuid.UUID | None = None,
    clock: Clock = utcnow,
) -> Customer:
    fields = normalize_fields(values, rules)
    async with uow:
        customer = await register_customer(
            uow, fields, customer_id=customer_id or uuid.uuid4(), now=clock()
        )
        await uow.commit()
    return customer


async def register_customer(
    uow: ConsentUnitOfWork,
    fields: dict[str, Any],
    *,
    customer_id: uuid.UUID,
    now: datetime,
    consent_source: str = PROFILE_API_SOURCE,
) -> Customer:
    """Create a customer from normalized fields, inside the caller's unit of work: the
    customer, its marketing consent, the orders it already has, and its group."""
    customer = Customer.register(
        customer_id=customer_id, tenant_id=uow.tenant_id, now=now, **fields
    )
    await uow.customers.add(customer)
    await follow_accepts_marketing(
        uow, customer, fields, now=customer.created_at, source=consent_source
    )
    # Orders can arrive before their customer (an id allocated by identity resolution).
    await count_uncounted_orders(uow, customer)
    await sync_customer_group(uow, customer, fields, now=customer.created_at, created=True)
    return customer


async def update_customer(
    uow: ConsentUnitOfWork,
    customer_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    rules: ContactRules,
    clock: Clock = utcnow,
) -> Customer:
    fields = normalize_fields(changes, rules)
    async with uow:
        customer = await existing_customer(uow, customer_id, for_update=True)
        fields = await follow_accepts_marketing(uow, customer, fields, now=clock())
        if customer.update(fields, now=clock()):
            await uow.customers.save(customer)
        await sync_customer_group(uow, customer, fields, now=clock())
        await uow.commit()
    return customer


async def delete_customer(
    uow: CustomerUnitOfWork, customer_id: uuid.UUID, *, clock: Clock = utcnow
) -> None:
    async with uow:
        customer = await existing_customer(uow, customer_id, for_update=True)
        customer.delete(now=clock())
        await uow.customers.save(customer)
        await uow.commit()


@dataclass(frozen=True)
class CustomerView:
    """A customer with the related data the caller asked for (None: not asked)."""

    customer: Customer
    addresses: list[Address] | None = None
    recent_orders: list[OrderRecord] | None = None
    metadata: list[MetadataEntry] | None = None


async def view_customer(
    uow: CustomerViewUnitOfWork,
    customer_id: uuid.UUID,
    *,
    include: set[str],
    recent_orders: int = 10,
) -> CustomerView:
    """The customer alone in one statement; with what `include` names, one read
    transaction for all of it (one consistent snapshot)."""
    if not include:
        customer = await uow.lookup.customer(customer_id)
        if customer is None:
            raise await missing_customer(uow.lookup, customer_id, writing=False)
        return CustomerView(customer, None, None, None)
    async with uow:
        customer = await existing_customer(uow, customer_id)
        addresses = (
            await uow.addresses.list_for_customer(customer_id) if "addresses" in include else None
        )
        orders = None
        if "orders" in include:
            orders, _ = await uow.orders.list_for_customer(
                customer_id, offset=0, limit=recent_orders
            )
        metadata = (
            await uow.metadata.list_for_customer(customer_id) if "metadata" in include else None
        )
    return CustomerView(customer, addresses, orders, metadata)


async def purchase_history(
    uow: CustomerUnitOfWork, customer_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[OrderRecord], int]:
    async with uow:
        await existing_customer(uow, customer_id)
        return await uow.orders.list_for_customer(customer_id, offset=offset, limit=limit)


async def list_customers(
    uow: CustomerLookupUnitOfWork,
    filters: CustomerFilters,
    sort: CustomerSort,
    *,
    offset: int,
    limit: int,
    count_limit: int,
) -> tuple[list[Customer], int]:
    """A page and the number of matches, counted up to `count_limit` + 1."""
    return await uow.lookup.list_page(
        _normalized(filters), sort, offset=offset, limit=limit, count_limit=count_limit
    )


async def scan_customers(
    uow: CustomerLookupUnitOfWork,
    filters: CustomerFilters,
    sort: CustomerSort,
    *,
    after: Cursor | None,
    limit: int,
) -> tuple[list[Customer], Cursor | None]:
    """One keyset page and the cursor for the next (None at the end)."""
    if sort.field not in CURSOR_SORT_FIELDS:
        raise InvalidInput(
            "sort", f"cursor scans sort by {', '.join(CURSOR_SORT_FIELDS)} only", location="query"
        )
    found = await uow.lookup.scan(
        _normalized(filters), descending=sort.descending, after=after, limit=limit + 1
    )
    more = len(found) > limit
    page = found[:limit]
    last = page[-1] if more else None
    return page, Cursor(created_at=last.created_at, id=last.id) if last else None


def _normalized(filters: CustomerFilters) -> CustomerFilters:
    """Filters compare with stored values, which are normalized the same way."""
    email = normalize_email(filters.email, field="email") if filters.email else None
    tags = tuple(normalize_tags(list(filters.tags), field="tags")) if filters.tags else ()
    return replace(filters, email=email, tags=tags)


async def existing_customer(
    uow: CustomerUnitOfWork,
    customer_id: uuid.UUID,
    *,
    for_update: bool = False,
    writing: bool | None = None,
) -> Customer:
    """The live customer. Missing: 404, or for a merged one 404 naming its survivor, and
    409 when the caller means to change it (`writing`, by default when locking it)."""
    customer = await uow.customers.get(customer_id, for_update=for_update)
    if customer is None:
        writes = for_update if writing is None else writing
        raise await missing_customer(uow.customers, customer_id, writing=writes)
    return customer
