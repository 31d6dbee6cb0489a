"""`/api/v1/identity/policy`: how the tenant's duplicates are decided.

Reading needs `identity:read`; changing it is tenant administration (`identity:admin`, which the
`admin` role has) and is audited.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.duplicates import ExactMatchPolicy, MatchPolicy
from patron_identity.service import duplicates as use_cases
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Reader = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_READ))
]
Admin = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_ADMIN))
]

_EXACT_MATCH = (
    "a pair sharing an email or phone: `merge` it automatically, or queue it for `review`"
)
_AUTO_MERGE = "merge automatically at or above this match probability"
_REVIEW = "queue for review at or above this match probability (at most auto_merge_threshold)"


class PolicyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"exact_match": "review", "auto_merge_threshold": 0.999, "review_threshold": 0.6}
            ]
        },
    )

    exact_match: ExactMatchPolicy = Field(description=_EXACT_MATCH)
    auto_merge_threshold: float = Field(gt=0, le=1, description=_AUTO_MERGE)
    review_threshold: float = Field(gt=0, le=1, description=_REVIEW)


class PolicyOut(BaseModel):
    exact_match: ExactMatchPolicy = Field(description=_EXACT_MATCH)
    auto_merge_threshold: float = Field(description=_AUTO_MERGE)
    review_threshold: float = Field(description=_REVIEW)
    updated_at: datetime | None = Field(description="null while the service's defaults apply")
    updated_by: str | None

    @classmethod
    def of(cls, policy: MatchPolicy) -> "PolicyOut":
        return cls(
            exact_match=policy.exact_match,
            auto_merge_threshold=policy.auto_merge_threshold,
            review_threshold=policy.review_threshold,
            updated_at=policy.updated_at,
            updated_by=policy.updated_by,
        )


def build_policy_router() -> APIRouter:
    router = api_router(prefix="/api/v1/identity", tags=["identity"])

    @router.get("/policy", summary="The tenant's duplicate matching policy")
    async def get_policy(uow: Reader) -> PolicyOut:
        return PolicyOut.of(await use_cases.get_policy(uow))

    @router.put(
        "/policy",
        summary="Set the tenant's duplicate matching policy (applies to later screenings)",
    )
    async def put_policy(body: PolicyIn, uow: Admin) -> PolicyOut:
        policy = await use_cases.set_policy(
            uow,
            exact_match=body.exact_match,
            auto_merge_threshold=body.auto_merge_threshold,
            review_threshold=body.review_threshold,
            updated_by=uow.caller.subject,
        )
        return PolicyOut.of(policy)

    return router
