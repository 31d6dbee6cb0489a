"""Connectors: accounts, secrets, signatures and payloads dispatched by source."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_identity.domain.connectors import (
    Connector,
    ConnectorCursor,
    ConnectorSource,
    WebhookDelivery,
    delivery_key_of,
    delivery_profiles,
    is_ping,
    normalize_account,
    verify_delivery,
)
from patron_shared.errors import Forbidden, InvalidInput, Unauthorized

from .test_sources_generic import pos_body
from .test_sources_shopify import shopify_customer
from .test_sources_whatsapp import PRIYA
from .test_sources_woocommerce import woocommerce_customer
from .webhooks import base64_signature, encode, hub_signature

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
SECRET = "a-connector-secret-of-some-length"


def connector(
    source: ConnectorSource, account: str, *, verify_token: str | None = None
) -> Connector:
    return Connector.register(
        tenant_id="demo",
        source=source,
        account=account,
        name=None,
        secret=SECRET,
        verify_token=verify_token,
        now=NOW,
    )


SHOP = connector("shopify", "my-shop.myshopify.com")
WOO = connector("woocommerce", "https://shop.example.com")
WHATSAPP = connector("whatsapp", "106540352242922", verify_token="meta-verify-token")
POS = connector("generic", "store-pos")


@pytest.mark.parametrize(
    ("source", "given_account", "stored"),
    [
        ("shopify", " My-Shop.myshopify.com ", "my-shop.myshopify.com"),
        ("shopify", "https://my-shop.myshopify.com/", "my-shop.myshopify.com"),
        ("woocommerce", "HTTPS://Shop.Example.com/store/", "https://shop.example.com/store"),
        ("woocommerce", "http://localhost:8080", "http://localhost:8080"),
        ("whatsapp", "106540352242922", "106540352242922"),
        ("generic", "store-pos", "store-pos"),
    ],
)
def test_an_account_is_stored_in_one_spelling(
    source: ConnectorSource, given_account: str, stored: str
) -> None:
    assert normalize_account(source, given_account) == stored


@pytest.mark.parametrize(
    ("source", "account"),
    [
        ("shopify", "my-shop.example.com"),
        ("shopify", "-shop.myshopify.com"),
        ("woocommerce", "shop.example.com"),
        ("woocommerce", "ftp://shop.example.com"),
        ("whatsapp", "+1 555 0100"),
        ("generic", "Store POS"),
        ("generic", "shopify"),
    ],
)
def test_an_account_the_source_cannot_have_names_the_account_field(
    source: ConnectorSource, account: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_account(source, account)

    assert refused.value.field == "account"


@pytest.mark.parametrize("secret", ["short", " padded-secret-value ", "x" * 201])
def test_a_secret_too_short_too_long_or_padded_is_refused(secret: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        SHOP.with_secret(secret, now=NOW)

    assert refused.value.field == "secret"


def test_only_whatsapp_connectors_take_a_verify_token() -> None:
    with pytest.raises(InvalidInput) as refused:
        connector("shopify", "my-shop.myshopify.com", verify_token="a-verify-token")

    assert refused.value.field == "verify_token"


def test_the_hint_shows_only_the_last_four_characters_of_the_secret() -> None:
    assert SHOP.secret_hint == "…" + SECRET[-4:]
    assert SECRET[:-4] not in SHOP.secret_hint


def test_disabling_twice_is_the_same_as_disabling_once() -> None:
    disabled = SHOP.disable(now=NOW)

    assert (disabled.status, disabled.disabled_at) == ("disabled", NOW)
    assert disabled.disable(now=datetime(2027, 1, 1, tzinfo=UTC)) == disabled


def shopify_delivery(body: bytes, *, secret: str = SECRET, **headers: str) -> WebhookDelivery:
    return WebhookDelivery(
        body=body,
        headers={
            "x-shopify-hmac-sha256": base64_signature(secret, body),
            "x-shopify-topic": "customers/create",
            "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            **headers,
        },
    )


def signed_deliveries() -> list[tuple[Connector, WebhookDelivery]]:
    shopify = encode(shopify_customer())
    woo = encode(woocommerce_customer())
    whatsapp = encode(PRIYA)
    generic = encode(pos_body())
    return [
        (SHOP, shopify_delivery(shopify)),
        (
            WOO,
            WebhookDelivery(
                woo,
                {
                    "x-wc-webhook-signature": base64_signature(SECRET, woo),
                    "x-wc-webhook-topic": "customer.updated",
                },
            ),
        ),
        (
            WHATSAPP,
            WebhookDelivery(whatsapp, {"x-hub-signature-256": hub_signature(SECRET, whatsapp)}),
        ),
        (POS, WebhookDelivery(generic, {"x-patron-signature-256": hub_signature(SECRET, generic)})),
    ]


@pytest.mark.parametrize(
    ("connector_", "delivery"), signed_deliveries(), ids=["shopify", "woo", "whatsapp", "generic"]
)
def test_each_source_is_verified_with_its_own_header_and_maps_to_profiles(
    connector_: Connector, delivery: WebhookDelivery
) -> None:
    verify_delivery(connector_, delivery)
    (profile,) = delivery_profiles(connector_, delivery)

    expected_source = connector_.account if connector_.source == "generic" else connector_.source
    assert profile.source == expected_source
    assert profile.event == "upsert"


@pytest.mark.parametrize(
    ("connector_", "delivery"), signed_deliveries(), ids=["shopify", "woo", "whatsapp", "generic"]
)
def test_a_delivery_signed_with_another_secret_is_unauthorized(
    connector_: Connector, delivery: WebhookDelivery
) -> None:
    rotated = connector_.with_secret("the-next-secret-after-rotation", now=NOW)

    with pytest.raises(Unauthorized):
        verify_delivery(rotated, delivery)


def test_a_signature_in_another_sources_header_is_not_accepted() -> None:
    body = encode(shopify_customer())
    delivery = WebhookDelivery(body, {"x-wc-webhook-signature": base64_signature(SECRET, body)})

    with pytest.raises(Unauthorized):
        verify_delivery(SHOP, delivery)


def test_a_shopify_delivery_without_its_topic_names_the_topic() -> None:
    delivery = shopify_delivery(encode(shopify_customer()))
    headers = {k: v for k, v in delivery.headers.items() if k != "x-shopify-topic"}

    with pytest.raises(InvalidInput) as refused:
        delivery_profiles(SHOP, WebhookDelivery(delivery.body, headers))

    assert refused.value.field == "topic"


def test_a_generic_connector_receives_only_its_own_sources_profiles() -> None:
    body = encode(pos_body(source="crm"))

    with pytest.raises(InvalidInput) as refused:
        delivery_profiles(POS, WebhookDelivery(body, {}))

    assert refused.value.field == "source"


def test_only_the_woocommerce_creation_ping_is_a_ping() -> None:
    ping = WebhookDelivery(b"webhook_id=12", {})

    assert is_ping(WOO, ping)
    assert not is_ping(SHOP, ping)
    assert not is_ping(WOO, WebhookDelivery(encode(woocommerce_customer()), {}))


def test_the_delivery_key_is_the_senders_delivery_id_per_source() -> None:
    delivery = shopify_delivery(encode(shopify_customer()))
    generic = WebhookDelivery(b"{}", {"x-patron-delivery-id": "d-1"})

    assert delivery_key_of(SHOP, delivery) == "shopify:id:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert delivery_key_of(POS, generic) == "store-pos:id:d-1"


@pytest.mark.parametrize(
    ("mode", "token", "challenge"),
    [
        ("subscribe", "wrong-token", "1158201444"),
        ("unsubscribe", "meta-verify-token", "1158201444"),
        (None, None, None),
    ],
)
def test_a_verification_request_without_the_right_token_and_mode_is_forbidden(
    mode: str | None, token: str | None, challenge: str | None
) -> None:
    with pytest.raises(Forbidden):
        WHATSAPP.answer_challenge(mode, token, challenge)


def test_the_right_verify_token_echoes_the_challenge() -> None:
    assert WHATSAPP.answer_challenge("subscribe", "meta-verify-token", "1158201444") == "1158201444"


def test_connectors_other_than_whatsapp_answer_no_verification() -> None:
    with pytest.raises(Forbidden):
        SHOP.answer_challenge("subscribe", "meta-verify-token", "1158201444")


@given(
    created_at=st.datetimes(timezones=st.just(UTC)),
    connector_id=st.uuids(),
)
def test_a_cursor_reads_back_as_written(created_at: datetime, connector_id: uuid.UUID) -> None:
    cursor = ConnectorCursor(created_at, connector_id)

    assert ConnectorCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("token", ["", "not-base64!", "WzFd", "eyJhIjogMX0"])
def test_a_cursor_this_api_did_not_write_names_the_cursor(token: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        ConnectorCursor.decode(token)

    assert refused.value.field == "cursor"
