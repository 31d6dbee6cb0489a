"""Response bodies of the notifications API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from patron_notifications.domain.contact import Contact
from patron_shared.auth import Principal, mask_email, mask_name, mask_phone


class ContactOut(BaseModel):
    customer_id: uuid.UUID
    email: str | None
    phone: str | None
    first_name: str | None
    locale: str | None
    accepts_marketing: bool

    @classmethod
    def of(cls, contact: Contact, viewer: Principal) -> ContactOut:
        """The contact as `viewer` may see it: PII masked without `customers:pii`."""
        pii = viewer.can_read_pii
        return cls(
            customer_id=contact.customer_id,
            email=contact.email if pii else mask_email(contact.email),
            phone=contact.phone if pii else mask_phone(contact.phone),
            first_name=contact.first_name if pii else mask_name(contact.first_name),
            locale=contact.locale,
            accepts_marketing=contact.accepts_marketing,
        )
