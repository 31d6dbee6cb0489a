"""WooCommerce customer webhooks (`customer.created`, `customer.updated`, `customer.deleted`)."""

from __future__ import annotations

from urllib.parse import parse_qs

from patron_shared.errors import InvalidInput

from ._payload import (
    JsonObject,
    address_or_none,
    child,
    country_code,
    numeric_id,
    parse_json_object,
    text,
    timestamp,
)
from .profile import WOOCOMMERCE, ProfileEvent, SourceAddress, SourceProfile

WOOCOMMERCE_TOPICS: dict[str, ProfileEvent] = {
    "customer.created": "upsert",
    "customer.updated": "upsert",
    "customer.deleted": "delete",
}


def is_woocommerce_ping(body: bytes) -> bool:
    """Whether this is the form-encoded `webhook_id=<n>` ping WooCommerce sends when a webhook
    is created. The ping carries no signature, so check for it before verifying."""
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    ids = fields.get("webhook_id")
    return set(fields) == {"webhook_id"} and ids is not None and ids[0].isdigit()


def woocommerce_profiles(topic: str, body: bytes) -> list[SourceProfile]:
    """The customer in a WooCommerce webhook; `topic` is the `X-WC-Webhook-Topic` header.
    The creation ping yields nothing."""
    if is_woocommerce_ping(body):
        return []
    event = WOOCOMMERCE_TOPICS.get(topic.strip())
    if event is None:
        raise InvalidInput("topic", f"unsupported WooCommerce topic {topic!r}")
    customer = parse_json_object(body)
    external_id = numeric_id(customer, "id", "id")
    if event == "delete":
        return [SourceProfile(source=WOOCOMMERCE, external_id=external_id, event="delete")]
    billing = child(customer, "billing", "billing") or {}
    shipping = child(customer, "shipping", "shipping") or {}
    return [
        SourceProfile(
            source=WOOCOMMERCE,
            external_id=external_id,
            event="upsert",
            first_name=text(customer, "first_name", "first_name")
            or text(billing, "first_name", "billing.first_name"),
            last_name=text(customer, "last_name", "last_name")
            or text(billing, "last_name", "billing.last_name"),
            email=text(customer, "email", "email") or text(billing, "email", "billing.email"),
            phone=text(billing, "phone", "billing.phone"),
            # WooCommerce core keeps no marketing consent on the customer.
            accepts_marketing=None,
            address=_address(billing, "billing") or _address(shipping, "shipping"),
            occurred_at=timestamp(customer, "date_modified_gmt", "date_modified_gmt")
            or timestamp(customer, "date_created_gmt", "date_created_gmt"),
        )
    ]


def _address(raw: JsonObject, path: str) -> SourceAddress | None:
    return address_or_none(
        SourceAddress(
            address1=text(raw, "address_1", f"{path}.address_1"),
            address2=text(raw, "address_2", f"{path}.address_2"),
            city=text(raw, "city", f"{path}.city"),
            state=text(raw, "state", f"{path}.state"),
            postcode=text(raw, "postcode", f"{path}.postcode"),
            country=country_code(text(raw, "country", f"{path}.country")),
        )
    )
