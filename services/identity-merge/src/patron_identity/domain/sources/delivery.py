"""Delivery keys: the same webhook delivered twice gets the same key, so a replay is a no-op."""

from __future__ import annotations

import hashlib

from patron_shared.errors import InvalidInput

from .profile import WHATSAPP
from .whatsapp import whatsapp_message_ids


def delivery_key(source: str, body: bytes, header_id: str | None) -> str:
    """`header_id` is the sender's delivery id (`X-Shopify-Webhook-Id`,
    `X-WC-Webhook-Delivery-ID`) when it sends one. Meta sends none, so WhatsApp deliveries are
    keyed by their message ids; anything else falls back to a hash of the body, which a
    retry repeats byte for byte."""
    if header_id is not None and header_id.strip():
        return f"{source}:id:{header_id.strip()}"
    if source == WHATSAPP:
        try:
            message_ids = whatsapp_message_ids(body)
        except InvalidInput:
            message_ids = []
        if message_ids:
            joined = ",".join(sorted(set(message_ids)))
            return f"{source}:messages:{hashlib.sha256(joined.encode()).hexdigest()}"
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"
