"""Source connectors: verify a source's webhook signature, then map its payload to
`SourceProfile`s. Pure functions over the raw request bytes; the API does the HTTP."""

from __future__ import annotations

from .delivery import delivery_key
from .generic import GenericProfileBody, GenericProfileFields, generic_profiles
from .profile import (
    SHOPIFY,
    SIGNED_SOURCES,
    WHATSAPP,
    WOOCOMMERCE,
    ProfileEvent,
    SourceAddress,
    SourceProfile,
)
from .shopify import SHOPIFY_TOPICS, shopify_profiles
from .signatures import (
    GENERIC_SIGNATURE_HEADER,
    verify_generic,
    verify_shopify,
    verify_whatsapp,
    verify_woocommerce,
)
from .whatsapp import whatsapp_message_ids, whatsapp_profiles
from .woocommerce import WOOCOMMERCE_TOPICS, is_woocommerce_ping, woocommerce_profiles

__all__ = [
    "GENERIC_SIGNATURE_HEADER",
    "SHOPIFY",
    "SHOPIFY_TOPICS",
    "SIGNED_SOURCES",
    "WHATSAPP",
    "WOOCOMMERCE",
    "WOOCOMMERCE_TOPICS",
    "GenericProfileBody",
    "GenericProfileFields",
    "ProfileEvent",
    "SourceAddress",
    "SourceProfile",
    "delivery_key",
    "generic_profiles",
    "is_woocommerce_ping",
    "shopify_profiles",
    "verify_generic",
    "verify_shopify",
    "verify_whatsapp",
    "verify_woocommerce",
    "whatsapp_message_ids",
    "whatsapp_profiles",
    "woocommerce_profiles",
]
