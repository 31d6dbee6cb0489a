"""Webhook bodies and signatures computed the way each source computes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode()


def hmac_sha256(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def base64_signature(secret: str, body: bytes) -> str:
    """Shopify's `X-Shopify-Hmac-Sha256` and WooCommerce's `X-WC-Webhook-Signature`."""
    return base64.b64encode(hmac_sha256(secret, body)).decode()


def hub_signature(secret: str, body: bytes) -> str:
    """Meta's `X-Hub-Signature-256` (WhatsApp Cloud API)."""
    return "sha256=" + hmac_sha256(secret, body).hex()
