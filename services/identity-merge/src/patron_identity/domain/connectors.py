"""Source connectors: a tenant's Shopify shop, WooCommerce site, WhatsApp number or other
system, registered with the secret its webhooks are signed with.

The connector's id is in its webhook URL, which is how a delivery finds its tenant; the
secret proves the delivery came from the source. Pure rules: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from patron_identity.domain.sources import (
    GENERIC_SIGNATURE_HEADER,
    SHOPIFY,
    SIGNED_SOURCES,
    WHATSAPP,
    WOOCOMMERCE,
    SourceProfile,
    delivery_key,
    generic_profiles,
    is_woocommerce_ping,
    shopify_profiles,
    verify_generic,
    verify_shopify,
    verify_whatsapp,
    verify_woocommerce,
    whatsapp_profiles,
    woocommerce_profiles,
)
from patron_shared.errors import Forbidden, InvalidInput

ConnectorSource = Literal["shopify", "woocommerce", "whatsapp", "generic"]
CONNECTOR_SOURCES: tuple[ConnectorSource, ...] = get_args(ConnectorSource)
ConnectorStatus = Literal["active", "disabled"]
GENERIC = "generic"

SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 200
_GENERATED_SECRET_BYTES = 32
_HINT_LENGTH = 4

_SHOPIFY_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$")
_WHATSAPP_PHONE_NUMBER_ID = re.compile(r"^[0-9]{5,30}$")
_GENERIC_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")

# The header carrying each source's own id for a delivery, which its retries repeat.
DELIVERY_ID_HEADERS: dict[str, str] = {
    SHOPIFY: "x-shopify-webhook-id",
    WOOCOMMERCE: "x-wc-webhook-delivery-id",
    GENERIC: "x-patron-delivery-id",
}


def generate_secret() -> str:
    return secrets.token_urlsafe(_GENERATED_SECRET_BYTES)


def hash_token(token: str) -> str:
    """What is stored of a WhatsApp verify token: it is only ever compared, never shown."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_account(source: ConnectorSource, account: str) -> str:
    """The account in one spelling, so one shop cannot be registered twice."""
    value = account.strip()
    if source == SHOPIFY:
        value = value.lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _SHOPIFY_DOMAIN.match(value):
            raise InvalidInput("account", "must be the shop's domain, e.g. my-shop.myshopify.com")
        return value
    if source == WOOCOMMERCE:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("account", "must be the site's URL, e.g. https://shop.example.com")
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"
    if source == WHATSAPP:
        if not _WHATSAPP_PHONE_NUMBER_ID.match(value):
            raise InvalidInput("account", "must be the WhatsApp phone number id (digits)")
        return value
    if not _GENERIC_SOURCE.match(value):
        raise InvalidInput(
            "account", "must be the source's name: lower-case letters, digits, '-' or '_'"
        )
    if value in SIGNED_SOURCES:
        raise InvalidInput("account", f"register {value!r} with source {value!r}")
    return value


def check_secret(secret: str, field: str = "secret") -> str:
    if not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        raise InvalidInput(
            field, f"must be {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} characters long"
        )
    if secret != secret.strip():
        raise InvalidInput(field, "must not start or end with white space")
    return secret


@dataclass(frozen=True)
class Connector:
    id: uuid.UUID
    tenant_id: str
    source: ConnectorSource
    account: str
    name: str | None
    secret: str
    verify_token_hash: str | None
    status: ConnectorStatus
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None = None

    @classmethod
    def register(
        cls,
        *,
        tenant_id: str,
        source: ConnectorSource,
        account: str,
        name: str | None,
        secret: str,
        verify_token: str | None,
        now: datetime,
    ) -> Connector:
        if verify_token is not None and source != WHATSAPP:
            raise InvalidInput("verify_token", "only WhatsApp connectors have a verify token")
        return cls(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            source=source,
            account=normalize_account(source, account),
            name=name,
            secret=check_secret(secret),
            verify_token_hash=None if verify_token is None else hash_token(verify_token),
            status="active",
            created_at=now,
            updated_at=now,
        )

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def secret_hint(self) -> str:
        """The secret's last characters: enough to tell which one a sender holds."""
        return "…" + self.secret[-_HINT_LENGTH:]

    @property
    def channel(self) -> str:
        """Where this connector's deliveries are remembered (replays are per connector)."""
        return str(self.id)

    def disable(self, *, now: datetime) -> Connector:
        if not self.active:
            return self
        return replace(self, status="disabled", disabled_at=now, updated_at=now)

    def with_secret(self, secret: str, *, now: datetime) -> Connector:
        return replace(self, secret=check_secret(secret), updated_at=now)

    def with_verify_token(self, verify_token: str, *, now: datetime) -> Connector:
        if self.source != WHATSAPP:
            raise InvalidInput("verify_token", "only WhatsApp connectors have a verify token")
        return replace(self, verify_token_hash=hash_token(verify_token), updated_at=now)

    def answer_challenge(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        """Meta's subscription check: echo `hub.challenge` when the verify token matches."""
        if self.source != WHATSAPP or self.verify_token_hash is None:
            raise Forbidden("this connector takes no verification requests")
        if mode != "subscribe":
            raise Forbidden("hub.mode must be 'subscribe'")
        if token is None or not hmac.compare_digest(
            hash_token(token).encode(), self.verify_token_hash.encode()
        ):
            raise Forbidden("hub.verify_token does not match the connector's verify token")
        if not challenge:
            raise InvalidInput("hub.challenge", "is required", location="query")
        return challenge


@dataclass(frozen=True)
class WebhookDelivery:
    """One request to a connector's webhook URL: the raw bytes, as signed, and its headers
    (names lower-cased)."""

    body: bytes
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def is_ping(connector: Connector, delivery: WebhookDelivery) -> bool:
    """A delivery that only checks the URL answers (WooCommerce's unsigned creation ping)."""
    return connector.source == WOOCOMMERCE and is_woocommerce_ping(delivery.body)


def verify_delivery(connector: Connector, delivery: WebhookDelivery) -> None:
    """Raise `Unauthorized` unless the body was signed with the connector's secret."""
    body, secret = delivery.body, connector.secret
    if connector.source == SHOPIFY:
        verify_shopify(secret, body, delivery.header("X-Shopify-Hmac-Sha256"))
    elif connector.source == WOOCOMMERCE:
        verify_woocommerce(secret, body, delivery.header("X-WC-Webhook-Signature"))
    elif connector.source == WHATSAPP:
        verify_whatsapp(secret, body, delivery.header("X-Hub-Signature-256"))
    else:
        verify_generic(secret, body, delivery.header(GENERIC_SIGNATURE_HEADER))


def delivery_profiles(connector: Connector, delivery: WebhookDelivery) -> list[SourceProfile]:
    """The profiles in a verified delivery; `InvalidInput` names what is malformed."""
    if connector.source == SHOPIFY:
        return shopify_profiles(_topic(delivery, "X-Shopify-Topic"), delivery.body)
    if connector.source == WOOCOMMERCE:
        return woocommerce_profiles(_topic(delivery, "X-WC-Webhook-Topic"), delivery.body)
    if connector.source == WHATSAPP:
        return whatsapp_profiles(delivery.body)
    profiles = generic_profiles(delivery.body)
    for profile in profiles:
        if profile.source != connector.account:
            raise InvalidInput("source", f"this connector receives {connector.account!r} profiles")
    return profiles


def delivery_key_of(connector: Connector, delivery: WebhookDelivery) -> str:
    header = DELIVERY_ID_HEADERS.get(connector.source)
    source = connector.account if connector.source == GENERIC else connector.source
    return delivery_key(source, delivery.body, delivery.header(header) if header else None)


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery handled before: the hash of its body and what it answered (JSON)."""

    fingerprint: str
    outcome: list[dict[str, Any]]


ERASED_EXTERNAL_ID = "erased"
"""What an erased customer's results in a remembered delivery say instead of the source's id
of them: a replay still answers one result per profile, naming no one."""


def body_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _topic(delivery: WebhookDelivery, header: str) -> str:
    topic = delivery.header(header)
    if topic is None or not topic.strip():
        raise InvalidInput("topic", f"missing {header} header", location="header")
    return topic


@dataclass(frozen=True)
class ConnectorCursor:
    """Where a listing stopped: the last connector's creation time and id (opaque)."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ConnectorCursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            created_at, row_id = json.loads(base64.urlsafe_b64decode(padded))
            moment = datetime.fromisoformat(created_at)
            if moment.utcoffset() is None:
                raise ValueError("naive time")
            return cls(created_at=moment, id=uuid.UUID(row_id))
        except (ValueError, TypeError, binascii.Error):
            raise InvalidInput(
                "cursor", "not a cursor this API returned", location="query"
            ) from None
