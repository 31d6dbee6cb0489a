"""`POST /api/v1/identity/sources/{source}/profiles`: any other system (a point of sale, a
CRM, a form) pushes what it knows of people, in batches.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.api.webhooks import ProfileResultOut
from patron_identity.domain.connectors import body_fingerprint
from patron_identity.domain.sources import SIGNED_SOURCES, GenericProfileFields
from patron_identity.service import source_profiles as use_cases
from patron_identity.service.source_profiles import SourceBatch
from patron_identity.settings import IdentitySettings
from patron_shared.auth import Scope
from patron_shared.errors import InvalidInput
from patron_shared.http import api_router, unit_of_work

Writer = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_WRITE))
]
IDEMPOTENCY_REPLAYED_HEADER = "Idempotency-Replayed"


class SourceProfilesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "profiles": [
                        {
                            "external_id": "C-1029",
                            "email": "mei.chen@example.com",
                            "phone": "+65 6123 4567",
                            "first_name": "Mei",
                            "last_name": "Chen",
                            "accepts_marketing": True,
                            "tags": ["walk-in"],
                            "address": {"city": "Singapore", "country": "SG"},
                        },
                        {"external_id": "C-0007", "event": "delete"},
                    ]
                }
            ]
        },
    )

    profiles: list[GenericProfileFields] = Field(min_length=1)


class SourceProfilesOut(BaseModel):
    status: Literal["processed", "replayed"] = Field(
        description="replayed: this Idempotency-Key was handled before; nothing changed now"
    )
    results: list[ProfileResultOut] = Field(description="one per profile, in request order")


def build_sources_router(settings: IdentitySettings) -> APIRouter:
    router = api_router(prefix="/api/v1/identity/sources", tags=["source connectors"])
    rules = settings.normalization_rules()
    max_profiles = settings.source_batch_max_profiles

    @router.post(
        "/{source}/profiles",
        summary="Resolve a batch of a source's profiles and update their customers",
        description=(
            "Each profile is resolved by its external id (`<source>:<external_id>`), email "
            "and phone, and its customer created or updated in the profile service; "
            "`event: delete` releases the external id. The batch is applied whole or not "
            "at all. With an `Idempotency-Key`, a retry answers the first result and "
            "changes nothing (409 if the key comes with a different body)."
        ),
    )
    async def push_profiles(
        source: Annotated[
            str,
            Path(
                pattern=r"^[a-z][a-z0-9_-]{1,39}$",
                description="the system the profiles come from, e.g. store-pos",
            ),
        ],
        body: SourceProfilesIn,
        uow: Writer,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(alias="Idempotency-Key", min_length=1, max_length=200),
        ] = None,
    ) -> SourceProfilesOut:
        if source in SIGNED_SOURCES:
            raise InvalidInput(
                "source",
                f"{source!r} profiles arrive only through its signed webhook",
                location="path",
            )
        if len(body.profiles) > max_profiles:
            raise InvalidInput("profiles", f"at most {max_profiles} profiles per request")
        canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
        outcome = await use_cases.ingest_profiles(
            uow,
            SourceBatch(
                channel=f"api:{source}",
                profiles=[profile.to_profile(source) for profile in body.profiles],
                fingerprint=body_fingerprint(canonical),
                delivery_key=idempotency_key,
                same_body_on_replay=True,
                unusable_contacts="reject",
            ),
            rules=rules,
        )
        if outcome.status == "replayed":
            response.headers[IDEMPOTENCY_REPLAYED_HEADER] = "true"
        return SourceProfilesOut(
            status="replayed" if outcome.status == "replayed" else "processed",
            results=[ProfileResultOut.of(r) for r in outcome.results],
        )

    return router
