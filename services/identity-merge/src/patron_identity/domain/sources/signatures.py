"""Webhook signature checks, run on the raw request bytes before anything parses them."""

from __future__ import annotations

import base64
import hashlib
import hmac

from patron_shared.errors import Unauthorized

WHATSAPP_SIGNATURE_PREFIX = "sha256="
GENERIC_SIGNATURE_HEADER = "X-Patron-Signature-256"


def _hmac_sha256(secret: str, body: bytes) -> bytes:
    if not secret:
        # An empty secret is a deployment mistake, not a bad request: say so loudly instead
        # of answering every delivery with 401.
        raise ValueError("webhook secret is not configured")
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def _require_header(header: str | None, name: str) -> str:
    if header is None or not header.strip():
        raise Unauthorized(f"missing {name} header")
    return header.strip()


def _reject_unless_equal(expected: str, given: str, name: str) -> None:
    # Bytes, because compare_digest refuses non-ASCII str and a forged header may contain any.
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized(f"{name} signature does not match the body")


def _verify_base64(secret: str, body: bytes, header: str | None, name: str) -> None:
    given = _require_header(header, name)
    expected = base64.b64encode(_hmac_sha256(secret, body)).decode()
    _reject_unless_equal(expected, given, name)


def verify_shopify(secret: str, body: bytes, header: str | None) -> None:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the body with the app secret."""
    _verify_base64(secret, body, header, "X-Shopify-Hmac-Sha256")


def verify_woocommerce(secret: str, body: bytes, header: str | None) -> None:
    """`X-WC-Webhook-Signature`: base64 of HMAC-SHA256 over the body with the webhook secret.

    WooCommerce's creation ping carries no signature; see `is_woocommerce_ping`."""
    _verify_base64(secret, body, header, "X-WC-Webhook-Signature")


def verify_whatsapp(secret: str, body: bytes, header: str | None) -> None:
    """`X-Hub-Signature-256`: "sha256=" and the hex HMAC-SHA256 over the body with the
    Meta app secret."""
    _verify_prefixed_hex(secret, body, header, "X-Hub-Signature-256")


def verify_generic(secret: str, body: bytes, header: str | None) -> None:
    """`X-Patron-Signature-256`, the signature a generic connector's sender computes the way
    Meta does: "sha256=" and the hex HMAC-SHA256 over the body with the connector's secret."""
    _verify_prefixed_hex(secret, body, header, GENERIC_SIGNATURE_HEADER)


def _verify_prefixed_hex(secret: str, body: bytes, header: str | None, name: str) -> None:
    given = _require_header(header, name)
    if not given.lower().startswith(WHATSAPP_SIGNATURE_PREFIX):
        raise Unauthorized(f"{name} header must start with {WHATSAPP_SIGNATURE_PREFIX}")
    expected = _hmac_sha256(secret, body).hex()
    _reject_unless_equal(expected, given[len(WHATSAPP_SIGNATURE_PREFIX) :].lower(), name)
