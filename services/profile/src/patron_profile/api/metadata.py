"""`/api/v1/customers/{id}/metadata`: translate HTTP to the metadata use cases and back.

Other modules (loyalty, storefront, ...) write their entries here with a `service` token,
naming themselves in `module_source`.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from patron_profile.api.dependencies import Author, Reader, Writer
from patron_profile.domain.metadata import KEY_PATTERN, MAX_VALUE_BYTES, MetadataEntry
from patron_profile.service import metadata as use_cases
from patron_profile.settings import ProfileSettings
from patron_shared.http import (
    Page,
    PageParams,
    api_router,
    page_params,
)

Key = Annotated[
    str,
    Path(
        pattern=f"^{KEY_PATTERN.pattern}$",
        description="lower-case letters, digits and `_.:-`, at most 100 characters",
        examples=["loyalty.favourite_store"],
    ),
]

_WRITE_EXAMPLE: JsonDict = {
    "value": {"store_id": "SF-01", "since": "2026-01"},
    "module_source": "loyalty",
}


class MetadataWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_WRITE_EXAMPLE]})

    value: JsonValue = Field(
        description=f"any JSON (null included), at most {MAX_VALUE_BYTES} bytes serialized"
    )
    module_source: str = Field(
        min_length=1,
        max_length=50,
        description="the module writing the entry, e.g. loyalty, storefront, admin",
    )


class MetadataOut(BaseModel):
    """One metadata entry, as the list, the write and the customer detail view show it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _WRITE_EXAMPLE
                | {
                    "key": "loyalty.favourite_store",
                    "updated_at": "2026-11-25T10:15:00Z",
                    "updated_by": "loyalty-service",
                }
            ]
        }
    )

    key: str
    value: JsonValue
    module_source: str
    updated_at: datetime
    updated_by: str = Field(description="the subject of the token that wrote the entry last")

    @classmethod
    def of(cls, entry: MetadataEntry) -> "MetadataOut":
        return cls(
            key=entry.key,
            value=entry.value,
            module_source=entry.module_source,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
        )


def build_metadata_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers/{customer_id}/metadata", tags=["metadata"])
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)

    @router.get(
        "",
        summary="List a customer's metadata entries by key",
    )
    async def list_metadata(
        customer_id: uuid.UUID,
        uow: Reader,
        page: Annotated[PageParams, Depends(paging)],
        module_source: Annotated[
            str | None,
            Query(min_length=1, max_length=50, description="only entries this module wrote"),
        ] = None,
    ) -> Page[MetadataOut]:
        found, total = await use_cases.list_metadata(
            uow, customer_id, module_source=module_source, offset=page.offset, limit=page.per_page
        )
        return Page[MetadataOut].build([MetadataOut.of(e) for e in found], page, total)

    @router.put(
        "/{key}",
        summary="Set a metadata entry",
        description=(
            "Creates the key or replaces its value and `module_source` (last writer wins). "
            f"A value over {MAX_VALUE_BYTES} bytes of compact JSON is a 422 naming `value`."
        ),
    )
    async def set_metadata(
        customer_id: uuid.UUID, key: Key, body: MetadataWrite, uow: Writer, author: Author
    ) -> MetadataOut:
        entry = await use_cases.set_metadata(
            uow,
            customer_id,
            key,
            value=body.value,
            module_source=body.module_source,
            updated_by=author.subject,
        )
        return MetadataOut.of(entry)

    @router.delete(
        "/{key}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a metadata entry"
    )
    async def delete_metadata(customer_id: uuid.UUID, key: Key, uow: Writer) -> Response:
        await use_cases.delete_metadata(uow, customer_id, key)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
