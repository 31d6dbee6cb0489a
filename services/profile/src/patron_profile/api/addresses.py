"""`/api/v1/customers/{id}/addresses`: translate HTTP to the address use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from patron_profile.api.dependencies import Reader, Viewer, Writer
from patron_profile.domain.address import MAX_ADDRESSES_PER_CUSTOMER, Address
from patron_profile.service import addresses as use_cases
from patron_profile.service.addresses import AddressRules
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Principal, mask_name, mask_phone
from patron_shared.http import Page, PageParams, api_router, page_params

AddressType = Literal["billing", "shipping"]


_EXAMPLE: JsonDict = {
    "type": "shipping",
    "first_name": "Jane",
    "last_name": "Doe",
    "company": "Acme",
    "address1": "1 Market St",
    "address2": "Suite 200",
    "city": "San Francisco",
    "state": "CA",
    "pincode": "94105",
    "country": "US",
    "phone": "+14155550123",
}


class AddressCreate(BaseModel):
    """A new address; the first of its type becomes the default whatever `is_default` says."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    type: AddressType
    is_default: bool = Field(default=False, description="make it the default of its type")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=255)
    address1: str = Field(min_length=1, max_length=255)
    address2: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=120)
    state: str | None = Field(default=None, max_length=120)
    pincode: str | None = Field(default=None, max_length=20)
    country: str = Field(
        min_length=2, max_length=2, description="ISO 3166-1 alpha-2", examples=["US"]
    )
    phone: str | None = Field(default=None, max_length=32)


class AddressPatch(BaseModel):
    """Only the fields sent change; `null` clears an optional field. The default changes
    through `POST .../default`; a change of type hands the old type's default on."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"city": "Oakland", "pincode": "94607"}]}
    )

    type: AddressType | None = None
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=255)
    address1: str | None = Field(default=None, min_length=1, max_length=255)
    address2: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=120)
    state: str | None = Field(default=None, max_length=120)
    pincode: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    phone: str | None = Field(default=None, max_length=32)


class AddressOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE | {"is_default": True}]})

    id: uuid.UUID
    customer_id: uuid.UUID
    type: AddressType
    is_default: bool
    first_name: str | None
    last_name: str | None
    company: str | None
    address1: str | None
    address2: str | None
    city: str | None
    state: str | None
    pincode: str | None
    country: str
    phone: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, address: Address, viewer: Principal) -> "AddressOut":
        """The address as `viewer` may see it: names, street lines and phone masked
        without `customers:pii`."""
        pii = viewer.can_read_pii
        return cls(
            id=address.id,
            customer_id=address.customer_id,
            type=address.type,
            is_default=address.is_default,
            first_name=address.first_name if pii else mask_name(address.first_name),
            last_name=address.last_name if pii else mask_name(address.last_name),
            company=address.company,
            address1=address.address1 if pii else mask_name(address.address1),
            address2=address.address2 if pii else mask_name(address.address2),
            city=address.city,
            state=address.state,
            pincode=address.pincode,
            country=address.country,
            phone=address.phone if pii else mask_phone(address.phone),
            created_at=address.created_at,
            updated_at=address.updated_at,
        )


def build_addresses_router(settings: ProfileSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/customers/{customer_id}/addresses", tags=["addresses"])
    rules = AddressRules(phone_default_region=settings.phone_default_region)
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)

    @router.get("", summary="List a customer's addresses, newest first")
    async def list_addresses(
        customer_id: uuid.UUID,
        uow: Reader,
        page: Annotated[PageParams, Depends(paging)],
    ) -> Page[AddressOut]:
        found, total = await use_cases.list_addresses(
            uow, customer_id, offset=page.offset, limit=page.per_page
        )
        return Page[AddressOut].build([AddressOut.of(a, uow.caller) for a in found], page, total)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Add an address",
        description=(
            "The first address of a type becomes its default. A customer has at most "
            f"{MAX_ADDRESSES_PER_CUSTOMER} addresses (409 beyond)."
        ),
    )
    async def add_address(
        customer_id: uuid.UUID,
        body: AddressCreate,
        uow: Writer,
        viewer: Viewer,
        response: Response,
    ) -> AddressOut:
        values = body.model_dump(exclude={"is_default"})
        address = await use_cases.add_address(
            uow, customer_id, values, rules=rules, make_default=body.is_default
        )
        response.headers["Location"] = f"/api/v1/customers/{customer_id}/addresses/{address.id}"
        return AddressOut.of(address, viewer)

    @router.patch("/{address_id}", summary="Change some fields of an address")
    async def change_address(
        customer_id: uuid.UUID,
        address_id: uuid.UUID,
        body: AddressPatch,
        uow: Writer,
        viewer: Viewer,
    ) -> AddressOut:
        changes = body.model_dump(exclude_unset=True)
        address = await use_cases.change_address(uow, customer_id, address_id, changes, rules=rules)
        return AddressOut.of(address, viewer)

    @router.delete(
        "/{address_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete an address",
        description=(
            "Deleting the default promotes the most recently created remaining address of its type."
        ),
    )
    async def remove_address(
        customer_id: uuid.UUID, address_id: uuid.UUID, uow: Writer
    ) -> Response:
        await use_cases.remove_address(uow, customer_id, address_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/{address_id}/default",
        summary="Make an address the default of its type",
        description="The previous default of that type stops being the default.",
    )
    async def set_default_address(
        customer_id: uuid.UUID, address_id: uuid.UUID, uow: Writer, viewer: Viewer
    ) -> AddressOut:
        address = await use_cases.set_default_address(uow, customer_id, address_id)
        return AddressOut.of(address, viewer)

    return router
