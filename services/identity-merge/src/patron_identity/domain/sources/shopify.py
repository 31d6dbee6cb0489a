"""Shopify customer webhooks (`customers/create`, `customers/update`, `customers/delete`)."""

from __future__ import annotations

from patron_shared.errors import InvalidInput

from ._payload import (
    JsonObject,
    address_or_none,
    child,
    children,
    country_code,
    flag,
    numeric_id,
    parse_json_object,
    text,
    timestamp,
)
from .profile import SHOPIFY, ProfileEvent, SourceAddress, SourceProfile

SHOPIFY_TOPICS: dict[str, ProfileEvent] = {
    "customers/create": "upsert",
    "customers/update": "upsert",
    "customers/delete": "delete",
}


def shopify_profiles(topic: str, body: bytes) -> list[SourceProfile]:
    """The customer in a verified Shopify webhook; `topic` is the `X-Shopify-Topic` header."""
    event = SHOPIFY_TOPICS.get(topic.strip())
    if event is None:
        raise InvalidInput("topic", f"unsupported Shopify topic {topic!r}")
    customer = parse_json_object(body)
    external_id = numeric_id(customer, "id", "id")
    if event == "delete":
        return [SourceProfile(source=SHOPIFY, external_id=external_id, event="delete")]
    return [
        SourceProfile(
            source=SHOPIFY,
            external_id=external_id,
            event="upsert",
            first_name=text(customer, "first_name", "first_name"),
            last_name=text(customer, "last_name", "last_name"),
            email=text(customer, "email", "email"),
            # Only the customer's own phone: an address phone may belong to the recipient.
            phone=text(customer, "phone", "phone"),
            accepts_marketing=_accepts_marketing(customer),
            address=_first_address(customer),
            occurred_at=timestamp(customer, "updated_at", "updated_at")
            or timestamp(customer, "created_at", "created_at"),
            tags=_tags(customer),
        )
    ]


def _tags(customer: JsonObject) -> tuple[str, ...]:
    """Shopify sends a customer's tags as one comma-separated string."""
    raw = text(customer, "tags", "tags")
    if raw is None:
        return ()
    return tuple(dict.fromkeys(tag.strip() for tag in raw.split(",") if tag.strip()))


def _accepts_marketing(customer: JsonObject) -> bool | None:
    consent = child(customer, "email_marketing_consent", "email_marketing_consent")
    if consent is not None:
        state = text(consent, "state", "email_marketing_consent.state")
        if state is not None:
            # "pending" (double opt-in not confirmed), "unsubscribed", "redacted", "invalid":
            # none of them lets us send marketing.
            return state.lower() == "subscribed"
    # Stores on API versions before 2022-04 only send the legacy flag.
    return flag(customer, "accepts_marketing", "accepts_marketing")


def _first_address(customer: JsonObject) -> SourceAddress | None:
    path = "default_address"
    raw = child(customer, "default_address", path)
    if raw is None:
        addresses = children(customer, "addresses", "addresses")
        if not addresses:
            return None
        path, raw = "addresses[0]", addresses[0]
    return address_or_none(
        SourceAddress(
            address1=text(raw, "address1", f"{path}.address1"),
            address2=text(raw, "address2", f"{path}.address2"),
            city=text(raw, "city", f"{path}.city"),
            state=text(raw, "province_code", f"{path}.province_code")
            or text(raw, "province", f"{path}.province"),
            postcode=text(raw, "zip", f"{path}.zip"),
            country=country_code(text(raw, "country_code", f"{path}.country_code")),
        )
    )
