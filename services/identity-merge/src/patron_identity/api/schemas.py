"""Response bodies of the identity API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from patron_identity.domain.identifiers import CustomerIdentifiers
from patron_shared.auth import Principal, mask_email, mask_phone


class IdentifiersOut(BaseModel):
    customer_id: uuid.UUID
    email: str | None
    phone: str | None
    external_ids: list[str] = Field(examples=[["shopify:123"]])

    @classmethod
    def of(
        cls, customer_id: uuid.UUID, identifiers: CustomerIdentifiers, viewer: Principal
    ) -> IdentifiersOut:
        """What `viewer` may see: email and phone masked without `customers:pii`."""
        pii = viewer.can_read_pii
        return cls(
            customer_id=customer_id,
            email=identifiers.email if pii else mask_email(identifiers.email),
            phone=identifiers.phone if pii else mask_phone(identifiers.phone),
            external_ids=list(identifiers.external_ids),
        )
