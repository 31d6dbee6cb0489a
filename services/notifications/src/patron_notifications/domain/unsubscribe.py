"""Signed unsubscribe links: who (tenant, customer) leaves what (a channel's marketing).

The link is public (a customer clicks it, or a mail client POSTs to it for RFC 8058
one-click), so it carries everything it acts on, signed with the service's secret
(HMAC-SHA256): it cannot be made up, or changed to another customer or channel. It does
not expire: an old email's link must keep working.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

from patron_notifications.domain.channels import Channel
from patron_shared.errors import Forbidden, InvalidInput
from patron_shared.events.envelope import TENANT_ID_PATTERN

UNSUBSCRIBE_PATH = "/api/v1/unsubscribe"
_VERSION = "u1"
_MAC_BYTES = 16  # 128 bits of HMAC-SHA256: plenty against forgery, a shorter URL


@dataclass(frozen=True)
class UnsubscribeTarget:
    tenant_id: str
    customer_id: uuid.UUID
    channel: Channel


def unsubscribe_token(secret: bytes, target: UnsubscribeTarget) -> str:
    payload = f"{_VERSION}.{target.tenant_id}.{target.customer_id.hex}.{target.channel}"
    return f"{_b64(payload.encode())}.{_b64(_mac(secret, payload))}"


def read_unsubscribe_token(secret: bytes, token: str) -> UnsubscribeTarget:
    """The target of a token this service signed; 422 if it is not one at all, 403 if its
    signature does not match."""
    try:
        encoded, mac = token.split(".")
        payload = _unb64(encoded).decode()
        signature = _unb64(mac)
        version, tenant, customer, channel = payload.split(".")
        customer_id = uuid.UUID(hex=customer)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput("token", "not an unsubscribe token") from None
    if version != _VERSION or channel not in ("email", "sms"):
        raise InvalidInput("token", "not an unsubscribe token")
    if not re.fullmatch(TENANT_ID_PATTERN, tenant):
        raise InvalidInput("token", "not an unsubscribe token")
    if not hmac.compare_digest(signature, _mac(secret, payload)):
        raise Forbidden("the unsubscribe link is not valid")
    return UnsubscribeTarget(tenant, customer_id, "email" if channel == "email" else "sms")


def unsubscribe_url(base_url: str, secret: bytes, target: UnsubscribeTarget) -> str:
    return f"{base_url.rstrip('/')}{UNSUBSCRIBE_PATH}/{unsubscribe_token(secret, target)}"


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
