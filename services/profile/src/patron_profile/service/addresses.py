"""Address use cases: one function per command, each one transaction.

Every change locks the customer's row first, so one customer's address changes run one at a
time: the default rules and the per-customer limit are decided on a stable address book, and
the database's one-default-per-type index is the backstop, not the referee.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron_profile.domain.address import Address, AddressBook, clean_address_fields
from patron_profile.service.ports import AddressUnitOfWork
from patron_profile.service.tombstones import missing_customer
from patron_shared.events import utcnow

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class AddressRules:
    phone_default_region: str = "US"


async def list_addresses(
    uow: AddressUnitOfWork, customer_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[Address], int]:
    async with uow:
        await _require_customer(uow, customer_id)
        return await uow.addresses.list_page(customer_id, offset=offset, limit=limit)


async def add_address(
    uow: AddressUnitOfWork,
    customer_id: uuid.UUID,
    values: dict[str, Any],
    *,
    rules: AddressRules,
    make_default: bool = False,
    address_id: uuid.UUID | None = None,
    clock: Clock = utcnow,
) -> Address:
    fields = clean_address_fields(values, phone_default_region=rules.phone_default_region)
    async with uow:
        book = await _locked_book(uow, customer_id)
        address = book.add(
            Address.new(
                address_id=address_id or uuid.uuid4(),
                tenant_id=uow.tenant_id,
                customer_id=customer_id,
                now=clock(),
                **fields,
            ),
            make_default=make_default,
        )
        await _save(uow, book)
        await uow.commit()
    return address


async def change_address(
    uow: AddressUnitOfWork,
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    rules: AddressRules,
    clock: Clock = utcnow,
) -> Address:
    fields = clean_address_fields(changes, phone_default_region=rules.phone_default_region)
    async with uow:
        book = await _locked_book(uow, customer_id)
        address = book.change(address_id, fields, now=clock())
        await _save(uow, book)
        await uow.commit()
    return address


async def set_default_address(
    uow: AddressUnitOfWork, customer_id: uuid.UUID, address_id: uuid.UUID, *, clock: Clock = utcnow
) -> Address:
    async with uow:
        book = await _locked_book(uow, customer_id)
        address = book.set_default(address_id, now=clock())
        await _save(uow, book)
        await uow.commit()
    return address


async def remove_address(
    uow: AddressUnitOfWork, customer_id: uuid.UUID, address_id: uuid.UUID, *, clock: Clock = utcnow
) -> None:
    async with uow:
        book = await _locked_book(uow, customer_id)
        book.remove(address_id, now=clock())
        await _save(uow, book)
        await uow.commit()


async def _require_customer(
    uow: AddressUnitOfWork, customer_id: uuid.UUID, *, for_update: bool = False
) -> None:
    # A deleted customer's addresses are as unreachable as the customer.
    if await uow.customers.get(customer_id, for_update=for_update) is None:
        raise await missing_customer(uow.customers, customer_id, writing=for_update)


async def _locked_book(uow: AddressUnitOfWork, customer_id: uuid.UUID) -> AddressBook:
    await _require_customer(uow, customer_id, for_update=True)
    return await uow.addresses.get_book(customer_id)


async def _save(uow: AddressUnitOfWork, book: AddressBook) -> None:
    await uow.addresses.save_book(book)
    uow.emit(*book.pull_events())
