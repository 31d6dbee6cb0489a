"""Response bodies of the segmentation API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from patron_segmentation.domain.facts import CustomerFacts


class CustomerFactsOut(BaseModel):
    customer_id: uuid.UUID
    tags: list[str]
    accepts_marketing: bool
    status: str
    registered_at: datetime | None
    source_updated_at: datetime

    @classmethod
    def of(cls, facts: CustomerFacts) -> CustomerFactsOut:
        return cls(
            customer_id=facts.customer_id,
            tags=facts.tags,
            accepts_marketing=facts.accepts_marketing,
            status=facts.status,
            registered_at=facts.registered_at,
            source_updated_at=facts.source_updated_at,
        )
