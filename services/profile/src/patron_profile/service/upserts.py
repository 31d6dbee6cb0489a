"""`UpsertCustomerFromSource`: a source connector's word about a customer, one transaction.

Unknown id: the customer is created with that id, through the same registration as the
API's create (its events, consent, early orders and group), with the address as its
default shipping address. Known id: the source only adds: its external id, its tags, the
fields the customer has no value for, and the address if the customer has none equal to
it. A source never overwrites a value: several channels describe one person, and the first
or the manually entered value is the one trusted. A merged id applies to its survivor; a
deleted one is left alone. `ReleaseExternalId` takes a source's id back off the customer.

Bad values are dropped one by one with a warning; a command with nothing usable, or that
would create a customer with no email, phone or external id, is dead-lettered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from patron_profile.domain.address import MAX_ADDRESSES_PER_CUSTOMER, Address, same_address
from patron_profile.domain.customer import Customer
from patron_profile.domain.merge import fill_missing
from patron_profile.domain.sources import (
    SourceValues,
    clean_source_values,
    consent_source_of,
)
from patron_profile.service.customers import ContactRules, register_customer
from patron_profile.service.groups import sync_customer_group
from patron_profile.service.ports import MergeUnitOfWork
from patron_shared.errors import PermanentFailure
from patron_shared.events import ReleaseExternalId, UpsertCustomerFromSource, utcnow
from patron_shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger("patron.profile.upserts")


async def upsert_customer_from_source(
    uow: MergeUnitOfWork,
    command: UpsertCustomerFromSource,
    *,
    rules: ContactRules,
    clock: Clock = utcnow,
) -> Customer | None:
    """The customer as it now is, or None when the command named a deleted customer."""
    values = clean_source_values(command, phone_default_region=rules.phone_default_region)
    for name, reason in values.rejected.items():
        log.warning("source value skipped", field=name, reason=reason, source=command.source)
    if values.rejected and not values.usable:
        raise PermanentFailure(f"nothing usable from {command.source}: {values.rejected}")
    async with uow:
        now = clock()
        customer = await uow.customers.get(
            command.customer_id, for_update=True, include_removed=True
        )
        if customer is not None and customer.merged_into is not None:
            survivor = await uow.customers.survivor_of(command.customer_id)
            customer = await uow.customers.get(survivor, for_update=True) if survivor else None
            if customer is None:
                log.warning("upsert ignored: the survivor is gone", source=command.source)
                await uow.commit()
                return None
        if customer is None:
            customer = await _create(uow, command, values, now=now)
        elif customer.deleted_at is not None:
            log.warning("upsert ignored: the customer was deleted", source=command.source)
            await uow.commit()
            return None
        else:
            await _update(uow, customer, values, now=now)
        await uow.commit()
    return customer


async def release_external_id(
    uow: MergeUnitOfWork, command: ReleaseExternalId, *, clock: Clock = utcnow
) -> Customer | None:
    """Drop the source's id from the customer (its survivor, when it was merged away) while
    the customer still holds that very id; the customer as it now is, or None when there is
    no live customer to change."""
    async with uow:
        target = await uow.customers.survivor_of(command.customer_id) or command.customer_id
        customer = await uow.customers.get(target, for_update=True)
        if customer is None or customer.external_ids.get(command.source) != command.external_id:
            log.info("release ignored: the customer holds no such id", source=command.source)
        else:
            remaining = {k: v for k, v in customer.external_ids.items() if k != command.source}
            if remaining or customer.email or customer.phone:
                customer.update({"external_ids": remaining}, now=clock())
                await uow.customers.save(customer)
            else:
                # the profile would be left with nothing that identifies the person
                log.warning("external id kept: it is all the customer has", source=command.source)
        await uow.commit()
    return customer


async def _create(
    uow: MergeUnitOfWork,
    command: UpsertCustomerFromSource,
    values: SourceValues,
    *,
    now: datetime,
) -> Customer:
    fields = await _without_taken_email(uow, dict(values.fields), command.customer_id)
    if not fields.get("email") and not fields.get("phone") and not fields.get("external_ids"):
        raise PermanentFailure(
            f"customer {command.customer_id} from {command.source} has no usable email, "
            "phone or external id"
        )
    customer = await register_customer(
        uow,
        fields | {"source": command.source},
        customer_id=command.customer_id,
        now=now,
        consent_source=consent_source_of(command.source),
    )
    if values.address is not None:
        await _add_address(uow, customer, values.address, now=now, make_default=True)
    return customer


async def _update(
    uow: MergeUnitOfWork, customer: Customer, values: SourceValues, *, now: datetime
) -> None:
    given = await _without_taken_email(uow, dict(values.fields), customer.id)
    existing_ids = customer.external_ids
    for source, external_id in given.get("external_ids", {}).items():
        if existing_ids.get(source) not in (None, external_id):
            log.warning("external id kept: the customer has another for this source", source=source)
    changes = fill_missing(customer, given)
    if customer.update(changes, now=now):
        await uow.customers.save(customer)
        await sync_customer_group(uow, customer, changes, now=now)
    if values.address is not None:
        await _add_address(uow, customer, values.address, now=now, make_default=False)


async def _without_taken_email(
    uow: MergeUnitOfWork, fields: dict[str, Any], customer_id: uuid.UUID
) -> dict[str, Any]:
    """`fields` without an email another live customer already has (one per tenant)."""
    email = fields.get("email")
    if email is not None:
        owner = await uow.customers.email_owner(email)
        if owner is not None and owner != customer_id:
            log.warning("source email skipped: another customer has it")
            fields.pop("email")
    return fields


async def _add_address(
    uow: MergeUnitOfWork,
    customer: Customer,
    cleaned: dict[str, Any],
    *,
    now: datetime,
    make_default: bool,
) -> None:
    """Add the address unless the customer has one equal to it."""
    book = await uow.addresses.get_book(customer.id)
    if any(same_address(a, cleaned) for a in book.addresses):
        return
    if len(book.addresses) >= MAX_ADDRESSES_PER_CUSTOMER:
        log.warning("source address skipped: the customer has as many as allowed")
        return
    address = Address.new(
        address_id=uuid.uuid4(),
        tenant_id=uow.tenant_id,
        customer_id=customer.id,
        now=now,
        **cleaned,
    )
    book.add(address, make_default=make_default)
    await uow.addresses.save_book(book)
    # After the customer's own events: a new customer's CustomerCreated comes first.
    customer.events.extend(book.pull_events())
