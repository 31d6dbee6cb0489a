"""Metadata use cases: one function per command, each one transaction.

Other modules write their entries through the same API with a `service` token, naming
themselves in `module_source`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from patron_profile.domain.metadata import MetadataEntry, clean_metadata_key, clean_module_source
from patron_profile.service.customers import existing_customer
from patron_profile.service.ports import MetadataUnitOfWork
from patron_shared.errors import NotFound
from patron_shared.events import utcnow

Clock = Callable[[], datetime]


async def list_metadata(
    uow: MetadataUnitOfWork,
    customer_id: uuid.UUID,
    *,
    module_source: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[MetadataEntry], int]:
    """The customer's entries by key, optionally only those one module wrote."""
    source = (
        clean_module_source(module_source, location="query") if module_source is not None else None
    )
    async with uow:
        await existing_customer(uow, customer_id)
        return await uow.metadata.list_page(
            customer_id, module_source=source, offset=offset, limit=limit
        )


async def set_metadata(
    uow: MetadataUnitOfWork,
    customer_id: uuid.UUID,
    key: str,
    *,
    value: Any,
    module_source: str,
    updated_by: str,
    clock: Clock = utcnow,
) -> MetadataEntry:
    """Create the key or replace its value (and module); the stored entry comes back."""
    entry = MetadataEntry.set(
        tenant_id=uow.tenant_id,
        customer_id=customer_id,
        key=key,
        value=value,
        module_source=module_source,
        updated_by=updated_by,
        now=clock(),
    )
    async with uow:
        await existing_customer(uow, customer_id, writing=True)
        stored = await uow.metadata.upsert(entry)
        await uow.commit()
    return stored


async def delete_metadata(uow: MetadataUnitOfWork, customer_id: uuid.UUID, key: str) -> None:
    clean_metadata_key(key)
    async with uow:
        await existing_customer(uow, customer_id, writing=True)
        if not await uow.metadata.delete(customer_id, key):
            raise NotFound(f"metadata key {key!r} not found")
        await uow.commit()
