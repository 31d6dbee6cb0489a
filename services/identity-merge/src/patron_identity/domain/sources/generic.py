"""Profiles pushed by any other source through Patron's own source API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from patron_shared.errors import InvalidInput

from ._payload import address_or_none
from .profile import SIGNED_SOURCES, SourceAddress, SourceProfile

SourceName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_-]{1,39}$")
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _blank_as_none(value: object) -> object:
    # Many integrations send "" for "unknown"; it means the same as leaving the field out.
    return None if isinstance(value, str) and not value.strip() else value


BlankAsNone = BeforeValidator(_blank_as_none)
OptionalText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None, BlankAsNone
]
OptionalEmail = Annotated[
    Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
    ]
    | None,
    BlankAsNone,
]
OptionalPhone = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()./-]{4,32}$")]
    | None,
    BlankAsNone,
]
OptionalCountry = Annotated[
    Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
    ]
    | None,
    BlankAsNone,
]


class GenericAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    address1: OptionalText = None
    address2: OptionalText = None
    city: OptionalText = None
    state: OptionalText = None
    postcode: OptionalText = None
    country: OptionalCountry = None


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class GenericProfileFields(BaseModel):
    """What a generic source says of one person, its source named elsewhere (the URL of the
    source API, or the connector). Unknown fields are refused so a typo is not silently
    dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: ExternalId
    event: Literal["upsert", "delete"] = "upsert"
    first_name: OptionalText = None
    last_name: OptionalText = None
    email: OptionalEmail = None
    phone: OptionalPhone = None
    accepts_marketing: bool | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] = []
    date_of_birth: date | None = None
    address: GenericAddress | None = None
    occurred_at: AwareDatetime | None = None

    def to_profile(self, source: str) -> SourceProfile:
        address = self.address
        return SourceProfile(
            source=source,
            external_id=self.external_id,
            event=self.event,
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            phone=self.phone,
            accepts_marketing=self.accepts_marketing,
            address=None
            if address is None
            else address_or_none(
                SourceAddress(
                    address1=address.address1,
                    address2=address.address2,
                    city=address.city,
                    state=address.state,
                    postcode=address.postcode,
                    country=address.country,
                )
            ),
            occurred_at=self.occurred_at,
            tags=tuple(dict.fromkeys(self.tags)),
            date_of_birth=self.date_of_birth,
        )


class GenericProfileBody(GenericProfileFields):
    """One profile with the name of its source: the body of a generic connector's webhook."""

    source: SourceName

    @field_validator("source")
    @classmethod
    def _not_a_signed_source(cls, source: str) -> str:
        if source in SIGNED_SOURCES:
            raise ValueError(f"{source!r} profiles arrive only through its signed webhook")
        return source


def generic_profiles(body: bytes) -> list[SourceProfile]:
    """The profile in a generic source API body."""
    try:
        parsed = GenericProfileBody.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from exc
    return [parsed.to_profile(parsed.source)]
