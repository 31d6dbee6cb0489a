"""Response bodies of the loyalty API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from patron_loyalty.domain.member import LoyaltyMember, MemberStatus


class MemberOut(BaseModel):
    customer_id: uuid.UUID
    member_since: datetime
    status: MemberStatus

    @classmethod
    def of(cls, member: LoyaltyMember) -> MemberOut:
        if member.member_since is None:
            raise ValueError("a member not yet enrolled has no public view")
        return cls(
            customer_id=member.customer_id,
            member_since=member.member_since,
            status=member.status,
        )
