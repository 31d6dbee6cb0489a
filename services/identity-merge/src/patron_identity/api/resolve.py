"""`POST /api/v1/identity/resolve`: the Patron customer id for a source's person.

Identifiers decide first (external id, then email, then phone). Without a known identifier,
a name with an address, postcode or date of birth is matched against the customers; a match
at or above the tenant's automatic merge threshold answers that customer with
`matched_by: "probabilistic"`. Otherwise the customer is created.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.resolution import ResolveRequest
from patron_identity.service import resolve as use_cases
from patron_identity.settings import IdentitySettings
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Resolver = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_WRITE))
]


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address1: str | None = Field(default=None, max_length=500)
    address2: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=200)
    state: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(
        default=None,
        max_length=20,
        validation_alias=AliasChoices("postcode", "pincode"),
        description="postal code (`pincode` is accepted too)",
    )
    country: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2"
    )


class ResolveIn(BaseModel):
    """What a source knows of a person: at least one of external_id, email or phone, or a
    name with an address, postcode or date of birth."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source": "shopify",
                    "external_id": "cust_456",
                    "email": "Jane.Doe@example.com",
                    "phone": "+1 415 555 0111",
                    "first_name": "Jane",
                    "last_name": "Doe",
                },
                {
                    "source": "pos",
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "date_of_birth": "1990-04-12",
                    "address": {"address1": "12 High Street", "postcode": "94107"},
                },
            ]
        },
    )

    source: str = Field(
        default="api",
        min_length=1,
        max_length=50,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="who knows this person: shopify, woocommerce, whatsapp, pos, api...",
    )
    external_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="the source's own id"
    )
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    address: AddressIn | None = None


class ResolveOut(BaseModel):
    customer_id: uuid.UUID
    matched_by: Literal["external_id", "email", "phone", "probabilistic"] | None = Field(
        description="the identifier that found the customer, or `probabilistic` when the "
        "name, address and date of birth matched a customer; null when it was created"
    )
    created: bool
    score: float | None = Field(
        default=None, description="the match probability, when matched_by is probabilistic"
    )


def build_resolve_router(settings: IdentitySettings) -> APIRouter:
    router = api_router(prefix="/api/v1/identity", tags=["identity"])
    rules = settings.normalization_rules()

    @router.post(
        "/resolve",
        summary="The customer id for what a source knows of a person; created if unknown",
        responses={201: {"model": ResolveOut, "description": "a new customer was allocated"}},
    )
    async def resolve(body: ResolveIn, uow: Resolver, response: Response) -> ResolveOut:
        address = body.address or AddressIn()
        request = ResolveRequest(**body.model_dump(exclude={"address"}), **address.model_dump())
        resolution = await use_cases.resolve(uow, request, rules=rules)
        if resolution.created:
            response.status_code = status.HTTP_201_CREATED
        return ResolveOut(
            customer_id=resolution.customer_id,
            matched_by=resolution.matched_by,
            created=resolution.created,
            score=resolution.score,
        )

    return router
