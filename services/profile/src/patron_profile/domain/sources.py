"""What a source connector says about a customer, cleaned field by field.

A source (a shop, a messaging channel) describes people as it knows them, sometimes badly.
One bad value must not lose the others: each field is normalized on its own, and a value
that fails is left out and named in `rejected` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from patron_profile.domain.address import clean_address_fields
from patron_profile.domain.contact import (
    MAX_TAGS,
    clean_name,
    normalize_email,
    normalize_phone,
    normalize_tags,
)
from patron_shared.errors import InvalidInput
from patron_shared.events import UpsertCustomerFromSource

# What a consent recorded on a source's word names as its source (`domain.consent`).
_CONSENT_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_NOT_SOURCE_CHARACTERS = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class SourceValues:
    fields: dict[str, Any] = field(default_factory=dict)  # customer fields, normalized
    address: dict[str, Any] | None = None  # address fields, cleaned (a shipping address)
    rejected: dict[str, str] = field(default_factory=dict)  # field -> why it was left out

    @property
    def usable(self) -> bool:
        return bool(self.fields) or self.address is not None


def clean_source_values(
    command: UpsertCustomerFromSource, *, phone_default_region: str
) -> SourceValues:
    fields: dict[str, Any] = {}
    rejected: dict[str, str] = {}

    def keep(name: str, clean: Any) -> None:
        try:
            value = clean()
        except InvalidInput as error:
            rejected[name] = error.message
            return
        if value is not None:
            fields[name] = value

    if command.email is not None:
        keep("email", lambda: normalize_email(command.email or ""))
    if command.phone is not None:
        keep(
            "phone",
            lambda: normalize_phone(command.phone or "", default_region=phone_default_region),
        )
    for name in ("first_name", "last_name"):
        keep(name, lambda name=name: clean_name(getattr(command, name)))
    if command.date_of_birth is not None:
        fields["date_of_birth"] = command.date_of_birth
    if command.accepts_marketing is not None:
        fields["accepts_marketing"] = command.accepts_marketing
    tags = _clean_tags(command.tags, rejected)
    if tags:
        fields["tags"] = tags
    external_id = (command.external_id or "").strip()
    if external_id:
        fields["external_ids"] = {command.source: external_id}
    return SourceValues(fields, _clean_address(command, phone_default_region, rejected), rejected)


def consent_source_of(source: str) -> str:
    """`source` as a consent's source: lower-case letters, digits, '_' and '-'."""
    cleaned = _NOT_SOURCE_CHARACTERS.sub("_", source.strip().lower()).strip("_")[:50]
    return cleaned if _CONSENT_SOURCE.match(cleaned) else "source_connector"


def _clean_tags(raw: list[str], rejected: dict[str, str]) -> list[str]:
    tags: list[str] = []
    for value in raw:
        try:
            tags += [t for t in normalize_tags([value]) if t not in tags]
        except InvalidInput as error:
            rejected["tags"] = error.message
    if len(tags) > MAX_TAGS:
        rejected["tags"] = f"at most {MAX_TAGS} tags per customer"
    return tags[:MAX_TAGS]


def _clean_address(
    command: UpsertCustomerFromSource, phone_default_region: str, rejected: dict[str, str]
) -> dict[str, Any] | None:
    if command.address is None:
        return None
    given = {k: v for k, v in command.address.model_dump().items() if v is not None}
    if not given:
        return None
    try:
        cleaned = clean_address_fields(
            {"type": "shipping", **given}, phone_default_region=phone_default_region
        )
        for name in ("address1", "country"):
            if cleaned.get(name) is None:
                raise InvalidInput(name, "is required")
    except InvalidInput as error:
        rejected["address"] = f"{error.field}: {error.message}"
        return None
    return cleaned
